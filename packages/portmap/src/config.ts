// podnet-portmap's config: the reference portmap's keys with their meaning. Only nftables exists
// here, so the iptables-only keys are refused (code 2) with the reason, never silently ignored.
import { CniError, ErrorCode, NETCONF_KEYS, showValue } from '@podnet/core/cni';
import type { NetConf } from '@podnet/core/cni';
import { parsePortMappings } from './mapping.js';
import type { PortMapping } from './mapping.js';
import { checkConditions, checkMarkBit } from './profile.js';
import type { Profile } from './profile.js';

export interface PortmapConfig {
  network: string;
  profile: Profile;
  mappings: PortMapping[];
}

const KEYS = new Set(['snat', 'markMasqBit', 'masqAll', 'conditionsV4', 'conditionsV6', 'backend']);
const STANDARD = new Set(NETCONF_KEYS);

export function parsePortmapConfig(conf: NetConf): PortmapConfig {
  for (const key of Object.keys(conf)) {
    if (STANDARD.has(key) || KEYS.has(key) || key.startsWith('cni.dev/')) continue;
    if (key === 'externalSetMarkChain') {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `unsupported config key "externalSetMarkChain" (value ${showValue(conf[key])})`,
        'it names an iptables chain (e.g. KUBE-MARK-MASQ), and podnet-portmap programs nftables only; use "markMasqBit" (default 13) — note kube-proxy stopped providing KUBE-MARK-MASQ as API (KEP-3178)',
      );
    }
    throw new CniError(
      ErrorCode.UnsupportedField,
      `unknown config key "${key}" (value ${showValue(conf[key])})`,
      `expected one of: ${[...KEYS].join(', ')}, or a standard CNI key`,
    );
  }
  const bool = (key: string, def: boolean): boolean => {
    const v = conf[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') throw new CniError(ErrorCode.InvalidConfig, `invalid "${key}" ${showValue(v)}`, 'expected a boolean');
    return v;
  };
  const backend = conf['backend'];
  if (backend !== undefined && backend !== 'nftables') {
    if (backend === 'iptables') {
      throw new CniError(
        ErrorCode.UnsupportedField,
        'unsupported "backend" "iptables"',
        'podnet-portmap programs nftables only (one transaction per call instead of many iptables processes); set "backend": "nftables" or drop the key',
      );
    }
    throw new CniError(ErrorCode.InvalidConfig, `invalid "backend" ${showValue(backend)}`, 'expected "nftables"');
  }
  const runtime = conf.runtimeConfig;
  if (runtime !== undefined && (typeof runtime !== 'object' || runtime === null || Array.isArray(runtime))) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid "runtimeConfig" ${showValue(runtime)}`, 'expected an object');
  }
  return {
    network: conf.name,
    profile: {
      snat: bool('snat', true),
      masqAll: bool('masqAll', false),
      markBit: checkMarkBit('markMasqBit', conf['markMasqBit']),
      conditionsV4: checkConditions('conditionsV4', conf['conditionsV4']),
      conditionsV6: checkConditions('conditionsV6', conf['conditionsV6']),
    },
    mappings: parsePortMappings((runtime as Record<string, unknown> | undefined)?.['portMappings']),
  };
}
