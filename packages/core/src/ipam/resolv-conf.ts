// `ipam.resolvConf`: a resolv.conf whose settings become the result's `dns` (as host-local does).
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { IpamError, IpamErrorCode } from './errors.js';

/** DNS settings in the shape of a CNI result's `dns`. */
export interface IpamDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/**
 * Parses resolv.conf text: `nameserver` and `options` accumulate, the last `domain` and `search`
 * win, `#` and `;` start comments, unknown keywords are ignored (resolv.conf(5)).
 */
export function parseResolvConf(text: string): IpamDns {
  const dns: IpamDns = {};
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...values] = line.split(/\s+/);
    if (values.length === 0) continue;
    switch (keyword) {
      case 'nameserver':
        (dns.nameservers ??= []).push(values[0] ?? '');
        break;
      case 'domain':
        dns.domain = values[0] ?? '';
        break;
      case 'search':
        dns.search = values;
        break;
      case 'options':
        (dns.options ??= []).push(...values);
        break;
      default:
        break;
    }
  }
  return dns;
}

/** resolv.conf files are small; anything past this is not one. */
const MAX_BYTES = 64 * 1024;

/** Reads a regular file; O_NONBLOCK so that a FIFO fails at once instead of hanging the call. */
function readRegularFile(path: string): string {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

export async function readResolvConf(path: string): Promise<IpamDns> {
  let text: string;
  try {
    text = readRegularFile(path);
  } catch (err) {
    throw new IpamError(IpamErrorCode.IoFailure, `cannot read ipam.resolvConf ${path}`, err instanceof Error ? err.message : String(err), { cause: err });
  }
  return parseResolvConf(text);
}
