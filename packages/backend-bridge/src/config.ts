// The bridge network config: the reference bridge's keys (same names, same meaning), validated
// up front so that no kernel work starts on a config that cannot succeed. Unknown keys are code 2
// (the spec's "unsupported field", naming the key); wrong types and contradictions are code 7.
import { CniError, ErrorCode, NAME_PATTERN, NETCONF_KEYS, ifnameProblem, showValue } from '@podnet/core/cni';
import type { Dns, IpamSection, NetConf } from '@podnet/core/cni';
import { parsePortMappings } from '@podnet/portmap';
import type { PortMapping } from '@podnet/portmap';

export interface BridgeConfig {
  /** The network name (`name`): namespaces IPAM state, host veth names, nft tables. */
  network: string;
  cniVersion: string;
  /** The bridge device name. */
  bridge: string;
  /** Put the gateway address on the bridge (IPAM's gateway, else the subnet's first address). */
  isGateway: boolean;
  /** Add a default route in the pod via the gateway; implies isGateway. */
  isDefaultGateway: boolean;
  /** Replace a different address of the same family on the bridge instead of failing. */
  forceAddress: boolean;
  /** Masquerade traffic from the pods to outside `masqExempt` and the pod subnets. */
  ipMasq: boolean;
  /** MTU of both veth ends, and of the bridge when this call creates it. */
  mtu?: number;
  hairpinMode: boolean;
  promiscMode: boolean;
  /** Untagged VLAN (PVID) of the pod's bridge port; turns on VLAN filtering on the bridge. */
  vlan?: number;
  /** The container interface MAC (CNI_ARGS `MAC` < `args.cni.mac` < `runtimeConfig.mac`). */
  mac?: string;
  /** Overrides the DNS the IPAM returns. */
  dns?: Dns;
  /** The `ipam` section; absent (or `{}` without a type) means L2 only: no addresses. */
  ipam?: IpamSection & { type: string };
  /**
   * Destinations never masqueraded besides the pods' own subnets (the cluster's pod range).
   * Not a config key: host-gw and VXLAN set it from the cluster network through `resolveConfig`.
   */
  masqExempt: string[];
  /**
   * Host ports (`runtimeConfig.portMappings`, sent by the runtime when the config declares
   * `capabilities: {"portMappings": true}`), built in: no chained portmap needed.
   */
  portMappings: PortMapping[];
}

/** Keys every CNI plugin config may carry (spec-reserved, injected by libcni, or skel logging). */
const STANDARD_KEYS = new Set(NETCONF_KEYS);

const BRIDGE_KEYS = new Set(['bridge', 'isGateway', 'isDefaultGateway', 'forceAddress', 'ipMasq', 'mtu', 'hairpinMode', 'promiscMode', 'vlan']);

/** Reference-bridge keys podnet does not implement: named as such rather than "unknown". */
const REFERENCE_ONLY_KEYS = new Set([
  'ipMasqBackend',
  'vlanTrunk',
  'preserveDefaultVlan',
  'macspoofchk',
  'enabledad',
  'disableContainerInterface',
  'portIsolation',
]);

const MAC_RE = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

export interface ParseOptions {
  /** Bridge name when the config has no `bridge` key. */
  defaultBridge: string;
  /** Extra top-level keys a backend built on this pod half accepts (validated by that backend). */
  extraKeys?: readonly string[];
}

/**
 * Validate a plugin config and CNI_ARGS into a BridgeConfig.
 * Throws CniError 2 for unknown keys and 7 for wrong types, ranges and contradictions.
 */
export function parseBridgeConfig(conf: NetConf, cniArgs: Readonly<Record<string, string>>, options: ParseOptions): BridgeConfig {
  const extra = new Set(options.extraKeys ?? []);
  for (const key of Object.keys(conf)) {
    if (STANDARD_KEYS.has(key) || BRIDGE_KEYS.has(key) || extra.has(key) || key.startsWith('cni.dev/')) continue;
    if (REFERENCE_ONLY_KEYS.has(key)) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `unsupported config key "${key}" (value ${showValue(conf[key])})`,
        'podnet-bridge does not implement this reference-bridge option; remove it',
      );
    }
    throw new CniError(
      ErrorCode.UnsupportedField,
      `unknown config key "${key}" (value ${showValue(conf[key])})`,
      `expected one of: ${[...BRIDGE_KEYS].join(', ')}, or a standard CNI key`,
    );
  }

  for (const key of ['capabilities', 'runtimeConfig', 'args', 'prevResult'] as const) {
    if (conf[key] !== undefined) objectAt(key, conf[key]);
  }
  for (const key of ['logFile', 'logLevel'] as const) optional(conf, key, 'string');

  const network = conf.name;
  if (typeof network !== 'string' || !NAME_PATTERN.test(network)) {
    throw invalid('name', conf.name, 'a network name matching ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$');
  }

  const bridge = optional(conf, 'bridge', 'string') ?? options.defaultBridge;
  checkIfname('bridge', bridge);

  const isDefaultGateway = optional(conf, 'isDefaultGateway', 'boolean') ?? false;
  const isGateway = (optional(conf, 'isGateway', 'boolean') ?? false) || isDefaultGateway;
  const forceAddress = optional(conf, 'forceAddress', 'boolean') ?? false;
  const ipMasq = optional(conf, 'ipMasq', 'boolean') ?? false;
  const hairpinMode = optional(conf, 'hairpinMode', 'boolean') ?? false;
  const promiscMode = optional(conf, 'promiscMode', 'boolean') ?? false;
  if (hairpinMode && promiscMode) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      'invalid config: "hairpinMode" and "promiscMode" are both true',
      'they are mutually exclusive: hairpin reflects frames on the pod port, promisc mode on the bridge already delivers them; set at most one',
    );
  }

  const mtu = optional(conf, 'mtu', 'number');
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) {
    throw invalid('mtu', mtu, 'an integer from 68 to 65535');
  }
  const vlan = optional(conf, 'vlan', 'number');
  if (vlan !== undefined && (!Number.isInteger(vlan) || vlan < 0 || vlan > 4094)) {
    throw invalid('vlan', vlan, 'an integer from 0 to 4094 (0 means no VLAN)');
  }

  if (vlan !== undefined && vlan !== 0 && isGateway) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `invalid config: "vlan" ${vlan} with "${isDefaultGateway ? 'isDefaultGateway' : 'isGateway'}"`,
      'podnet-bridge puts pods of a VLAN on an L2 segment only; the gateway address on the bridge is not in that VLAN. Use a separate bridge per network instead, or drop "vlan"',
    );
  }

  const ipam = parseIpam(conf.ipam);
  if (!ipam) {
    for (const key of ['isGateway', 'isDefaultGateway', 'ipMasq'] as const) {
      if (conf[key] === true) {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `invalid config: "${key}" is true but "ipam" has no type`,
          `"${key}" needs addresses; set "ipam.type" or drop "${key}" for an L2-only network`,
        );
      }
    }
  }

  const mac = parseMac(conf, cniArgs);
  const dns = conf.dns === undefined ? undefined : parseDns(conf.dns);
  const portMappings = parsePortMappings(objectField(conf, 'runtimeConfig')?.['portMappings']);
  if (portMappings.length > 0 && !ipam) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      'invalid config: "runtimeConfig.portMappings" without "ipam"',
      "host ports forward to the pod's addresses; an L2-only network has none",
    );
  }

  return {
    network,
    cniVersion: conf.cniVersion,
    bridge,
    isGateway,
    isDefaultGateway,
    forceAddress,
    ipMasq,
    hairpinMode,
    promiscMode,
    masqExempt: [],
    portMappings,
    ...(mtu !== undefined ? { mtu } : {}),
    ...(vlan !== undefined && vlan !== 0 ? { vlan } : {}),
    ...(mac !== undefined ? { mac } : {}),
    ...(dns !== undefined ? { dns } : {}),
    ...(ipam !== undefined ? { ipam } : {}),
  };
}

/** The rules the spec gives for interface names (also the kernel's IFNAMSIZ), as core's skel applies them to CNI_IFNAME. */
export function checkIfname(field: string, value: string): void {
  if (ifnameProblem(value) !== undefined) {
    throw invalid(field, value, 'an interface name of 1-15 characters, not "." or "..", without "/", ":" or whitespace');
  }
}

function parseIpam(value: unknown): (IpamSection & { type: string }) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('ipam', value, 'an object');
  }
  const type = (value as IpamSection).type;
  if (type === undefined) {
    if (Object.keys(value).length > 0) {
      throw invalid('ipam.type', type, 'an IPAM plugin name (an "ipam" section without "type" must be empty: L2 only)');
    }
    return undefined;
  }
  if (typeof type !== 'string' || type === '' || type.includes('/')) {
    throw invalid('ipam.type', type, 'an IPAM plugin name without "/"');
  }
  return value as IpamSection & { type: string };
}

function parseMac(conf: NetConf, cniArgs: Readonly<Record<string, string>>): string | undefined {
  // Highest precedence first: runtimeConfig.mac > args.cni.mac > CNI_ARGS MAC.
  const runtime = objectField(conf, 'runtimeConfig');
  const args = objectField(conf, 'args');
  const argsCni = args && args['cni'] !== undefined ? objectAt('args.cni', args['cni']) : undefined;
  const candidates: Array<[string, unknown]> = [
    ['runtimeConfig.mac', runtime?.['mac']],
    ['args.cni.mac', argsCni?.['mac']],
    ['CNI_ARGS MAC', cniArgs['MAC']],
  ];
  for (const [field, value] of candidates) {
    if (value === undefined) continue;
    if (typeof value !== 'string' || !MAC_RE.test(value)) {
      throw invalid(field, value, 'a MAC address like "0a:58:0a:16:00:05"');
    }
    const first = Number.parseInt(value.slice(0, 2), 16);
    if ((first & 1) !== 0) throw invalid(field, value, 'a unicast MAC address (the first octet must be even)');
    if (/^(00:){5}00$/.test(value)) throw invalid(field, value, 'a non-zero MAC address');
    return value.toLowerCase();
  }
  return undefined;
}

function parseDns(value: unknown): Dns {
  const dns = objectAt('dns', value);
  const out: Dns = {};
  for (const [key, v] of Object.entries(dns)) {
    switch (key) {
      case 'nameservers':
      case 'search':
      case 'options':
        if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalid(`dns.${key}`, v, 'an array of strings');
        out[key] = [...(v as string[])];
        break;
      case 'domain':
        if (typeof v !== 'string') throw invalid('dns.domain', v, 'a string');
        out.domain = v;
        break;
      default:
        throw new CniError(
          ErrorCode.UnsupportedField,
          `unknown config key "dns.${key}" (value ${showValue(v)})`,
          'expected nameservers, domain, search or options',
        );
    }
  }
  return out;
}

function optional(conf: NetConf, key: string, type: 'string'): string | undefined;
function optional(conf: NetConf, key: string, type: 'boolean'): boolean | undefined;
function optional(conf: NetConf, key: string, type: 'number'): number | undefined;
function optional(conf: NetConf, key: string, type: 'string' | 'boolean' | 'number'): unknown {
  const value = conf[key];
  if (value === undefined) return undefined;
  if (typeof value !== type || (type === 'number' && !Number.isFinite(value))) {
    throw invalid(key, value, `a ${type}`);
  }
  return value;
}

function objectField(conf: NetConf, key: string): Record<string, unknown> | undefined {
  const value = conf[key];
  return value === undefined ? undefined : objectAt(key, value);
}

function objectAt(field: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(field, value, 'an object');
  return value as Record<string, unknown>;
}

function invalid(field: string, value: unknown, expected: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid "${field}" ${showValue(value)}`, `expected ${expected}`);
}
