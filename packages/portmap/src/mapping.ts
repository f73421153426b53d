// `runtimeConfig.portMappings`: what runtimes send, validated into canonical mappings.
// podman sends `hostPort/containerPort/protocol/hostIP`; containerd (go-cni structs without JSON
// tags) sends `HostPort/ContainerPort/Protocol/HostIP`. The Go plugins read both because Go's JSON
// decoding ignores case; so do we, per key. Unknown keys inside an entry are ignored, as Go does.
import { CniError, ErrorCode, showValue } from '@podnet/core/cni';
import { formatIp, isIp, parseIp } from '@podnet/core/netlink';

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /**
   * Which destination addresses of this node the mapping catches:
   * - `{ kind: 'any' }`: every local address of both families (hostIP absent or "");
   * - `{ kind: 'family', family }`: every local address of one family ("0.0.0.0" or "::");
   * - `{ kind: 'address', address, family }`: that address only (canonical text).
   */
  host: HostScope;
}

export type HostScope = { kind: 'any' } | { kind: 'family'; family: 4 | 6 } | { kind: 'address'; address: string; family: 4 | 6 };

const PROTOCOLS: ReadonlySet<string> = new Set(['tcp', 'udp', 'sctp']);

/** Human text of a mapping for messages: `tcp 127.0.0.1:8080 → 80`. */
export function describeMapping(m: PortMapping): string {
  const host =
    m.host.kind === 'address'
      ? m.host.family === 6
        ? `[${m.host.address}]`
        : m.host.address
      : m.host.kind === 'family'
        ? m.host.family === 4
          ? '0.0.0.0'
          : '[::]'
        : '*';
  return `${m.protocol} ${host}:${m.hostPort} → ${m.containerPort}`;
}

/**
 * `runtimeConfig.portMappings` → mappings. Absent or null → []. Any bad entry is code 7 naming
 * the entry (`runtimeConfig.portMappings[1].hostPort`). Exact duplicates collapse; two entries
 * claiming the same host port with different targets are code 7 naming both.
 */
export function parsePortMappings(value: unknown, field = 'runtimeConfig.portMappings'): PortMapping[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(field, value, 'an array of {hostPort, containerPort, protocol, hostIP}');
  const out: PortMapping[] = [];
  const seen = new Map<string, { index: number; mapping: PortMapping }>();
  value.forEach((entry, index) => {
    const at = `${field}[${index}]`;
    const mapping = parseEntry(entry, at);
    for (const key of claimKeys(mapping)) {
      const earlier = seen.get(key);
      if (!earlier) continue;
      if (earlier.mapping.containerPort === mapping.containerPort && sameScope(earlier.mapping.host, mapping.host)) return; // exact duplicate
      throw new CniError(
        ErrorCode.InvalidConfig,
        `invalid "${at}": ${describeMapping(mapping)} claims the host port of ${field}[${earlier.index}] (${describeMapping(earlier.mapping)})`,
        'one host address, protocol and host port can forward to one container port only',
      );
    }
    for (const key of claimKeys(mapping)) seen.set(key, { index, mapping });
    out.push(mapping);
  });
  return out;
}

function parseEntry(entry: unknown, at: string): PortMapping {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(at, entry, 'an object {hostPort, containerPort, protocol, hostIP}');
  const fields = new Map<string, [string, unknown]>();
  for (const [key, v] of Object.entries(entry)) fields.set(key.toLowerCase(), [key, v]);
  const get = (name: string): [string, unknown] => fields.get(name.toLowerCase()) ?? [name, undefined];

  const port = (name: string): number => {
    const [key, v] = get(name);
    if (v === undefined) throw invalid(`${at}.${key}`, v, 'a port from 1 to 65535 (missing)');
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw invalid(`${at}.${key}`, v, 'a port from 1 to 65535');
    return v;
  };
  const hostPort = port('hostPort');
  const containerPort = port('containerPort');

  const [protoKey, protoValue] = get('protocol');
  let protocol: Protocol = 'tcp'; // Kubernetes' default when a runtime leaves it out
  if (protoValue !== undefined && protoValue !== '') {
    if (typeof protoValue !== 'string' || !PROTOCOLS.has(protoValue.toLowerCase())) {
      throw invalid(`${at}.${protoKey}`, protoValue, 'one of "tcp", "udp", "sctp"');
    }
    protocol = protoValue.toLowerCase() as Protocol;
  }

  const [ipKey, ipValue] = get('hostIP');
  let host: HostScope = { kind: 'any' };
  if (ipValue !== undefined && ipValue !== null && ipValue !== '') {
    if (typeof ipValue !== 'string' || !isIp(ipValue)) throw invalid(`${at}.${ipKey}`, ipValue, 'an IPv4 or IPv6 address, or "" for every address of the node');
    const bytes = parseIp(ipValue);
    const family: 4 | 6 = bytes.length === 4 ? 4 : 6;
    const address = formatIp(bytes);
    if (address === '0.0.0.0' || address === '::') host = { kind: 'family', family };
    else if (address === '::1') {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `invalid "${at}.${ipKey}" "::1"`,
        'the kernel cannot forward IPv6 loopback traffic to another host or namespace (IPv6 has no route_localnet); use 127.0.0.1, or "" and connect to a non-loopback address of the node',
      );
    } else if (bytes.length === 4 && bytes[0] === 127 && address !== '127.0.0.1') {
      throw invalid(`${at}.${ipKey}`, ipValue, 'a node address; of the loopback range only 127.0.0.1 is supported');
    } else host = { kind: 'address', address, family };
  }
  return { hostPort, containerPort, protocol, host };
}

/** The (hostIP, protocol, hostPort) claims of a mapping, per family it can apply to. */
export function claimKeys(m: PortMapping): string[] {
  const families: Array<4 | 6> = m.host.kind === 'any' ? [4, 6] : [m.host.family];
  return families.map((f) => `${f}|${m.host.kind === 'address' ? m.host.address : '*'}|${m.protocol}|${m.hostPort}`);
}

function sameScope(a: HostScope, b: HostScope): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'any') return true;
  if (a.kind === 'family') return b.kind === 'family' && a.family === b.family;
  return b.kind === 'address' && a.address === b.address;
}

function invalid(field: string, value: unknown, expected: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid "${field}" ${showValue(value)}`, `expected ${expected}`);
}
