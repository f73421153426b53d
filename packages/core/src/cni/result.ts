// Results across versions: print a 1.1.0-shaped Result in any supported version (convertResult),
// and read a result of any version — a prevResult or a delegate's stdout — into the 1.1.0 shape
// (parseResult), checking every field's type so a malformed result fails here, by field name.
// netlink/ip.ts is pure text ↔ bytes (no FFI, no node:net, whose loading costs a Bun-compiled
// plugin milliseconds of start-up), and the same parser the backends use for addresses.
import { isIp, tryParseCidr } from '../netlink/ip.js';
import { CniError, ErrorCode } from './errors.js';
import type { Dns, Interface, IpConfig, Result, RouteEntry } from './types.js';
import { compareVersions, isSupportedVersion, LATEST_VERSION, SUPPORTED_VERSIONS } from './version.js';
import { checkJsonDepth } from './json-depth.js';

/** A result as printed in some version: plain JSON, fields in the order the spec lists them. */
export type WireResult = Record<string, unknown>;

/**
 * A Result (1.1.0 shape) in `toVersion`'s shape.
 * - 1.0.0: drops what 1.1.0 added (interface mtu/socketPath/pciID; route mtu/advmss/priority/table/scope).
 * - 0.3.x, 0.4.0: as 1.0.0, plus `version: "4" | "6"` on every IP.
 */
export function convertResult(result: Result, toVersion: string): WireResult {
  if (!isSupportedVersion(toVersion)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `cannot print a result in cniVersion ${show(toVersion)}`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const latest = toVersion === LATEST_VERSION;
  const ipVersionField = compareVersions(toVersion, '1.0.0') < 0;
  const out: WireResult = { cniVersion: toVersion };
  if (result.interfaces) {
    out.interfaces = result.interfaces.map((i) =>
      prune({
        name: i.name,
        mac: i.mac,
        mtu: latest ? i.mtu : undefined,
        sandbox: i.sandbox,
        socketPath: latest ? i.socketPath : undefined,
        pciID: latest ? i.pciID : undefined,
      }),
    );
  }
  if (result.ips) {
    out.ips = result.ips.map((ip) =>
      prune({
        version: ipVersionField ? ipVersion(ip.address) : undefined,
        interface: ip.interface,
        address: ip.address,
        gateway: ip.gateway,
      }),
    );
  }
  if (result.routes) {
    out.routes = result.routes.map((r) =>
      latest
        ? prune({ dst: r.dst, gw: r.gw, mtu: r.mtu, advmss: r.advmss, priority: r.priority, table: r.table, scope: r.scope })
        : prune({ dst: r.dst, gw: r.gw }),
    );
  }
  if (result.dns) out.dns = copyDns(result.dns);
  return out;
}

/** `"6"` for an IPv6 address (prefix ignored), else `"4"`: the 0.3.x/0.4.0 `version` field. */
function ipVersion(address: string): '4' | '6' {
  const ip = address.split('/')[0] ?? '';
  return ip.includes(':') && isIp(ip) ? '6' : '4';
}

function prune(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

function copyDns(d: Dns): Dns {
  const out: Dns = {};
  if (d.nameservers) out.nameservers = [...d.nameservers];
  if (d.domain !== undefined) out.domain = d.domain;
  if (d.search) out.search = [...d.search];
  if (d.options) out.options = [...d.options];
  return out;
}

export interface ParseResultOptions {
  /** How messages name the result: "prevResult" (default), "result of host-local", … */
  label?: string;
  /** Code for a result that is JSON but malformed: 7 (invalid config, default) or 6 (decode). */
  code?: number;
}

/**
 * Read a result of any supported version, or the 0.1.0/0.2.0 `ip4`/`ip6` shape, into a Result of
 * the 1.1.0 shape (`cniVersion: "1.1.0"`). `input` is JSON text (Buffer or string) or a parsed
 * value. The result's own cniVersion wins over `version` (the version the caller expected).
 * Invalid JSON text → code 6; a wrong type or value → `options.code` (7), naming the field.
 */
export function parseResult(input: unknown, version?: string, options: ParseResultOptions = {}): Result {
  const label = options.label ?? 'prevResult';
  const v = new Validator(label, options.code ?? ErrorCode.InvalidConfig);
  let value = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    checkJsonDepth(text, label);
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CniError(ErrorCode.DecodeFailure, `${label} is not valid JSON`, (err as Error).message);
    }
  }
  const obj = v.object(value, label);
  const declared = v.optString(obj, 'cniVersion', label);
  const ver = declared ?? version;
  if (ver !== undefined && ver !== '0.1.0' && ver !== '0.2.0' && !isSupportedVersion(ver)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `${label} has unsupported cniVersion ${show(ver)}`,
      `supported versions: 0.1.0, 0.2.0 (read only), ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const legacy = ver !== undefined ? compareVersions(ver, '0.3.0') < 0 : !('ips' in obj) && ('ip4' in obj || 'ip6' in obj);
  const out: Result = { cniVersion: LATEST_VERSION };
  if (legacy) {
    const ips: IpConfig[] = [];
    const routes: RouteEntry[] = [];
    for (const [key, family] of [
      ['ip4', 4],
      ['ip6', 6],
    ] as const) {
      if (obj[key] === undefined || obj[key] === null) continue;
      const path = `${label}.${key}`;
      const o = v.object(obj[key], path);
      const address = v.cidr(o, 'ip', path, family);
      const gateway = v.optIp(o, 'gateway', path);
      ips.push(gateway === undefined ? { address } : { address, gateway });
      routes.push(...v.list(o, 'routes', path, (r, p) => readRoute(v, r, p, false)));
    }
    if (ips.length) out.ips = ips;
    if (routes.length) out.routes = routes;
  } else {
    if (obj.interfaces != null) out.interfaces = v.list(obj, 'interfaces', label, (i, p) => readInterface(v, i, p));
    const count = out.interfaces?.length;
    if (obj.ips != null) out.ips = v.list(obj, 'ips', label, (ip, p) => readIp(v, ip, p, count));
    if (obj.routes != null) out.routes = v.list(obj, 'routes', label, (r, p) => readRoute(v, r, p, true));
  }
  if (obj.dns != null) out.dns = readDns(v, obj.dns, `${label}.dns`);
  return out;
}

function readInterface(v: Validator, value: unknown, path: string): Interface {
  const o = v.object(value, path);
  const out: Interface = { name: v.string(o, 'name', path) };
  const mac = v.optString(o, 'mac', path);
  if (mac !== undefined) out.mac = mac;
  const mtu = v.optInt(o, 'mtu', path, 0, 0xffffffff);
  if (mtu !== undefined) out.mtu = mtu;
  const sandbox = v.optString(o, 'sandbox', path);
  if (sandbox !== undefined) out.sandbox = sandbox;
  const socketPath = v.optString(o, 'socketPath', path);
  if (socketPath !== undefined) out.socketPath = socketPath;
  const pciID = v.optString(o, 'pciID', path);
  if (pciID !== undefined) out.pciID = pciID;
  return out;
}

function readIp(v: Validator, value: unknown, path: string, interfaces: number | undefined): IpConfig {
  const o = v.object(value, path);
  const address = v.cidr(o, 'address', path);
  const out: IpConfig = { address };
  // 0.3.x/0.4.0 carry "version"; check it agrees with the address, then drop it (1.0.0 did).
  if (o.version != null) {
    const family = ipVersion(address);
    if (o.version !== family) v.fail(`${path}.version`, `"${family}" for address ${address}`, o.version);
  }
  const gateway = v.optIp(o, 'gateway', path);
  if (gateway !== undefined) out.gateway = gateway;
  if (interfaces === 0 && o.interface != null) v.fail(`${path}.interface`, 'absent (the result has no interfaces)', o.interface);
  const index = v.optInt(o, 'interface', path, 0, interfaces === undefined ? 0xffffffff : interfaces - 1);
  if (index !== undefined) out.interface = index;
  return out;
}

function readRoute(v: Validator, value: unknown, path: string, extended: boolean): RouteEntry {
  const o = v.object(value, path);
  const out: RouteEntry = { dst: v.cidr(o, 'dst', path) };
  const gw = v.optIp(o, 'gw', path);
  if (gw !== undefined) out.gw = gw;
  if (!extended) return out;
  for (const key of ['mtu', 'advmss', 'priority', 'table'] as const) {
    const n = v.optInt(o, key, path, 0, 0xffffffff);
    if (n !== undefined) out[key] = n;
  }
  const scope = v.optInt(o, 'scope', path, 0, 255);
  if (scope !== undefined) out.scope = scope;
  return out;
}

function readDns(v: Validator, value: unknown, path: string): Dns {
  const o = v.object(value, path);
  const out: Dns = {};
  for (const key of ['nameservers', 'search', 'options'] as const) {
    if (o[key] != null) out[key] = v.list(o, key, path, (s, p) => v.asString(s, p));
  }
  const domain = v.optString(o, 'domain', path);
  if (domain !== undefined) out.domain = domain;
  return out;
}

/** Type checks that throw a CniError naming the field (`prevResult.ips[0].address`). */
class Validator {
  constructor(
    private readonly label: string,
    private readonly code: number,
  ) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new CniError(this.code, `${path} must be ${expected}, got ${show(got)}`, `in ${this.label}`);
  }

  object(value: unknown, path: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'an object', value);
    return value as Record<string, unknown>;
  }

  list<T>(o: Record<string, unknown>, key: string, path: string, item: (value: unknown, path: string) => T): T[] {
    const value = o[key];
    if (value == null) return [];
    if (!Array.isArray(value)) this.fail(`${path}.${key}`, 'an array', value);
    return value.map((x, i) => item(x, `${path}.${key}[${i}]`));
  }

  asString(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail(path, 'a string', value);
    return value;
  }

  string(o: Record<string, unknown>, key: string, path: string): string {
    return this.asString(o[key], `${path}.${key}`);
  }

  optString(o: Record<string, unknown>, key: string, path: string): string | undefined {
    return o[key] == null ? undefined : this.string(o, key, path);
  }

  optInt(o: Record<string, unknown>, key: string, path: string, min: number, max: number): number | undefined {
    const value = o[key];
    if (value == null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(`${path}.${key}`, `an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  optIp(o: Record<string, unknown>, key: string, path: string): string | undefined {
    const value = this.optString(o, key, path);
    if (value !== undefined && !isIp(value)) this.fail(`${path}.${key}`, 'an IP address', value);
    return value;
  }

  cidr(o: Record<string, unknown>, key: string, path: string, family?: 4 | 6): string {
    const value = this.string(o, key, path);
    // tryParseCidr also takes a bare address (as /32 or /128); a result's CIDR must write its prefix.
    const cidr = value.includes('/') ? tryParseCidr(value) : undefined;
    if (!cidr || (family !== undefined && cidr.family !== family)) {
      this.fail(`${path}.${key}`, `an IPv${family ?? '4/6'} address with prefix length (CIDR)`, value);
    }
    return value;
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
