// From the IPAM result and the config to what goes where: the pod's addresses and routes, the
// gateway addresses for the bridge, and the CNI result. Pure, so it is table-tested.
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { Dns, Interface, IpConfig, Result, RouteEntry } from '@podnet/core/cni';
import { parseCidr, tryParseCidr } from '@podnet/core/netlink';
import type { Cidr } from '@podnet/core/netlink';
import { firstHost, networkOf } from './cidr.js';
import type { BridgeConfig } from './config.js';

export interface PodAddress {
  /** As IPAM gave it, e.g. "10.22.0.5/24". */
  cidr: string;
  parsed: Cidr;
  /** The gateway of this address (IPAM's, else the subnet's first address when isGateway). */
  gateway?: string;
}

export interface PodRoute {
  dst: Cidr;
  /** Absent: a directly connected (link scope) route. */
  gw?: string;
  entry: RouteEntry;
}

export interface Addressing {
  addresses: PodAddress[];
  routes: PodRoute[];
  /** Gateway address + the pod address's prefix, per family, for the bridge (isGateway). */
  bridgeAddresses: Cidr[];
}

/**
 * IPAM result + config → addressing. Zero addresses from a configured IPAM, a malformed address,
 * or a route whose gateway family has no gateway, are errors (code 7 or the IPAM's 999-like 6).
 */
export function planAddressing(cfg: BridgeConfig, ipam: Result | undefined): Addressing {
  if (!ipam) return { addresses: [], routes: [], bridgeAddresses: [] };
  const ips = ipam.ips ?? [];
  if (ips.length === 0) {
    throw new CniError(ErrorCode.InvalidConfig, `IPAM "${cfg.ipam?.type}" returned no addresses`, 'expected at least one IP in the IPAM result');
  }
  const addresses: PodAddress[] = ips.map((ip, i) => {
    const parsed = tryParseCidr(ip.address);
    if (!parsed || !ip.address.includes('/')) {
      throw new CniError(ErrorCode.DecodeFailure, `IPAM result ips[${i}].address "${ip.address}" is not a CIDR`, 'expected e.g. "10.22.0.5/24"');
    }
    const gateway = ip.gateway ?? (cfg.isGateway ? firstHost(parsed) : undefined);
    return { cidr: ip.address, parsed, ...(gateway !== undefined ? { gateway } : {}) };
  });

  const gatewayOf = (family: 4 | 6): string | undefined => addresses.find((a) => a.parsed.family === family && a.gateway)?.gateway;

  const routes: PodRoute[] = [];
  for (const [i, r] of (ipam.routes ?? []).entries()) {
    const dst = tryParseCidr(r.dst);
    if (!dst) throw new CniError(ErrorCode.DecodeFailure, `IPAM result routes[${i}].dst "${r.dst}" is not a CIDR`, 'expected e.g. "0.0.0.0/0"');
    // A route without gw goes via the family's gateway, as the reference does.
    const gw = r.gw ?? gatewayOf(dst.family);
    routes.push({ dst, ...(gw !== undefined ? { gw } : {}), entry: r });
  }
  if (cfg.isDefaultGateway) {
    for (const family of [4, 6] as const) {
      const gw = gatewayOf(family);
      if (!gw) continue;
      const dstText = family === 4 ? '0.0.0.0/0' : '::/0';
      if (routes.some((r) => r.dst.family === family && r.dst.prefixLength === 0)) continue;
      routes.push({ dst: parseCidr(dstText), gw, entry: { dst: dstText, gw } });
    }
  }

  const bridgeAddresses: Cidr[] = [];
  if (cfg.isGateway) {
    for (const a of addresses) {
      if (!a.gateway) continue;
      const gw: Cidr = { address: tryParseCidr(a.gateway)?.address ?? a.gateway, prefixLength: a.parsed.prefixLength, family: a.parsed.family };
      // One gateway per subnet: two pod addresses in one subnet share it.
      if (!bridgeAddresses.some((b) => b.address === gw.address && networkOf(b) === networkOf(gw))) bridgeAddresses.push(gw);
    }
  }
  return { addresses, routes, bridgeAddresses };
}

export interface ResultInterfaces {
  bridge: { name: string; mac: string };
  host: { name: string; mac: string };
  pod: { name: string; mac: string; mtu?: number; sandbox: string };
}

/** The ADD result: interfaces [bridge, host veth, container]; ips point at the container (2). */
export function buildResult(cfg: BridgeConfig, ipam: Result | undefined, plan: Addressing, ifs: ResultInterfaces): Result {
  const interfaces: Interface[] = [
    { name: ifs.bridge.name, mac: ifs.bridge.mac },
    { name: ifs.host.name, mac: ifs.host.mac },
    { name: ifs.pod.name, mac: ifs.pod.mac, ...(ifs.pod.mtu !== undefined ? { mtu: ifs.pod.mtu } : {}), sandbox: ifs.pod.sandbox },
  ];
  const ips: IpConfig[] = plan.addresses.map((a) => ({
    address: a.cidr,
    ...(a.gateway !== undefined ? { gateway: a.gateway } : {}),
    interface: 2,
  }));
  const routes: RouteEntry[] = plan.routes.map((r) => r.entry);
  const dns: Dns | undefined = cfg.dns ?? ipam?.dns;
  return {
    cniVersion: cfg.cniVersion,
    interfaces,
    ...(ips.length > 0 ? { ips } : {}),
    ...(routes.length > 0 ? { routes } : {}),
    ...(dns !== undefined && Object.keys(dns).length > 0 ? { dns } : {}),
  };
}
