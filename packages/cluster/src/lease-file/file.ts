// Read and write the node-local lease file. Reading is synchronous and small: it sits on the
// CNI executables' per-call path. Writing is atomic (temp file in the same directory, fsync,
// rename) so a reader never sees half a file, also when the agent is killed mid-write.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LeaseFile } from './format.js';

export class LeaseFileError extends Error {
  constructor(
    readonly reason: 'missing' | 'invalid',
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'LeaseFileError';
  }
}

const CIDR = /^[0-9a-fA-F.:]+\/\d{1,3}$/;

function checkFamilies(value: unknown, field: string, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LeaseFileError('invalid', path, `lease file ${path}: "${field}" must be an object`);
  }
  for (const family of ['ipv4', 'ipv6'] as const) {
    const v = (value as Record<string, unknown>)[family];
    if (v !== undefined && (typeof v !== 'string' || !CIDR.test(v))) {
      throw new LeaseFileError('invalid', path, `lease file ${path}: "${field}.${family}" must be a CIDR`);
    }
  }
}

/** Parse and validate lease-file text; `path` only names the file in errors. */
export function parseLeaseFile(text: string, path: string): LeaseFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new LeaseFileError('invalid', path, `lease file ${path} is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new LeaseFileError('invalid', path, `lease file ${path} must hold a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  if (o['version'] !== 1)
    throw new LeaseFileError('invalid', path, `lease file ${path}: unknown "version" ${JSON.stringify(o['version'])} (this build reads 1)`);
  if (typeof o['node'] !== 'string' || o['node'] === '') throw new LeaseFileError('invalid', path, `lease file ${path}: "node" must be a non-empty string`);
  checkFamilies(o['network'], 'network', path);
  checkFamilies(o['subnets'], 'subnets', path);
  const subnets = o['subnets'] as LeaseFile['subnets'];
  if (subnets.ipv4 === undefined && subnets.ipv6 === undefined) throw new LeaseFileError('invalid', path, `lease file ${path}: "subnets" names no subnet`);
  const mtu = o['mtu'];
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535)
    throw new LeaseFileError('invalid', path, `lease file ${path}: "mtu" must be an integer 576–65535`);
  if (typeof o['backend'] !== 'string' || o['backend'] === '')
    throw new LeaseFileError('invalid', path, `lease file ${path}: "backend" must be a non-empty string`);
  return raw as LeaseFile;
}

/** Read the lease file; LeaseFileError 'missing' when the agent has not written it (yet). */
export function readLeaseFile(path: string): LeaseFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LeaseFileError('missing', path, `lease file ${path} does not exist: is podnetd running on this node?`);
    }
    throw new LeaseFileError('invalid', path, `lease file ${path} cannot be read: ${(error as Error).message}`);
  }
  return parseLeaseFile(text, path);
}

/** Write the lease file atomically (mode 0644: the CNI executables run as root anyway). */
export function writeLeaseFile(path: string, file: LeaseFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
}
