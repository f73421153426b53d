// The bridge config a host-gw conflist means: what the user wrote, with the gaps filled from the
// node's lease. Pure (the lease is read by the caller), so it is table-tested.
//
// Filled in only where the conflist says nothing (any explicit key wins):
//   isGateway true, isDefaultGateway true (as flannel's default conflist: pods reach services
//   and the outside through the node), hairpinMode true (a pod reaching itself through a service),
//   and, with a lease: mtu = the lease's, ipam.ranges = the node's subnet(s) (dual-stack when the
//   lease has both), ipam.routes = the cluster network(s) via the bridge gateway, and the cluster
//   network(s) exempt from masquerading. ipMasq stays false unless set: podnetd masquerades
//   pod → outside traffic for the whole node.
// Without a lease (DEL, GC) nothing of the lease is filled in; the IPAM keeps its type and its
// store location (name + dataDir), which never depend on the lease, so DEL still releases.
import { BUILTIN_IPAM_TYPE } from '@podnet/backend-bridge';
import type { BridgeConfig } from '@podnet/backend-bridge';
import type { LeaseFile } from '@podnet/cluster/lease-file';
import type { NetConf } from '@podnet/core/cni';

/** IPAM keys that say where addresses come from; any of them means "the user chose the ranges". */
const RANGE_KEYS = ['ranges', 'subnet', 'rangeStart', 'rangeEnd', 'gateway'];

/**
 * A conflist without `ipam` gets the built-in IPAM (its ranges come from the lease), so that
 * gateway defaults and the IPAM's DEL work. An explicit `ipam` (even `{}`, L2 only) is kept.
 */
export function withDefaultIpam(conf: NetConf): NetConf {
  return conf.ipam === undefined ? { ...conf, ipam: { type: BUILTIN_IPAM_TYPE } } : conf;
}

export function resolveHostGwConfig(cfg: BridgeConfig, raw: NetConf, lease: LeaseFile | undefined): BridgeConfig {
  const out: BridgeConfig = { ...cfg };
  const given = (key: string): boolean => raw[key] !== undefined;

  // A VLAN puts pods on an L2 segment without the gateway (the bridge refuses both): no defaults then.
  if (cfg.ipam && cfg.vlan === undefined) {
    if (!given('isDefaultGateway') && raw['isGateway'] !== false) out.isDefaultGateway = true;
    if (!given('isGateway')) out.isGateway = true;
    out.isGateway ||= out.isDefaultGateway;
  }
  if (!given('hairpinMode') && !cfg.promiscMode) out.hairpinMode = true;
  if (!lease) return out;

  const networks = [lease.network.ipv4, lease.network.ipv6].filter((n): n is string => n !== undefined);
  const subnets = [lease.subnets.ipv4, lease.subnets.ipv6].filter((s): s is string => s !== undefined);
  if (cfg.mtu === undefined) out.mtu = lease.mtu;
  out.masqExempt = [...new Set([...cfg.masqExempt, ...networks])];
  if (cfg.ipam?.type === BUILTIN_IPAM_TYPE) {
    const ipam = { ...cfg.ipam };
    if (!RANGE_KEYS.some((k) => ipam[k] !== undefined)) ipam['ranges'] = subnets.map((subnet) => [{ subnet }]);
    // No gw: the pod half routes them via the family's gateway, the bridge address. Only for the
    // families the pod gets an address in.
    const routed = (['ipv4', 'ipv6'] as const).flatMap((f) => (lease.subnets[f] !== undefined && lease.network[f] !== undefined ? [lease.network[f]] : []));
    if (ipam['routes'] === undefined && routed.length > 0) ipam['routes'] = routed.map((dst) => ({ dst }));
    out.ipam = ipam;
  }
  return out;
}
