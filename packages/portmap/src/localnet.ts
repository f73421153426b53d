// 127.0.0.1:hostPort from the node: after DNAT the packet still has source 127.0.0.1, which the
// kernel refuses to route off the loopback unless route_localnet is on for the *outgoing* device
// (thockin, kubernetes #92938). Only that device gets it, never `all` (CVE-2020-8558, where
// kube-proxy's route_localnet on all interfaces exposed 127.0.0.1 services to the LAN).
// IPv6 has no equivalent: [::1]:hostPort cannot be forwarded (podman #12690); mapping.ts refuses
// hostIP ::1 and the README says so.
import { CniError, ErrorCode } from '@podnet/core/cni';
import { listRoutes, parseIp } from '@podnet/core/netlink';
import type { NetlinkConn, Route } from '@podnet/core/netlink';
import { readSysctl, writeSysctl } from '@podnet/core/netns';

export function enableRouteLocalnet(device: string): void {
  const key = ['net', 'ipv4', 'conf', device, 'route_localnet'];
  try {
    if (readSysctl(key) === '1') return;
    writeSysctl(key, 1);
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `cannot set net.ipv4.conf.${device}.route_localnet`, (err as Error).message, { cause: err });
  }
}

/** The device the node routes `address` (IPv4) out of: longest prefix of the main table. */
export function deviceTowards(nl: NetlinkConn, address: string, nameOf: (index: number) => string | undefined): string | undefined {
  const target = parseIp(address);
  let best: Route | undefined;
  let bestLen = -1;
  for (const r of listRoutes(nl, { family: 4, table: 254 })) {
    if (r.oif === undefined || r.type !== 1) continue;
    const len = r.dstLen;
    if (len <= bestLen || !inPrefix(target, parseIp(r.dst), len)) continue;
    best = r;
    bestLen = len;
  }
  return best?.oif === undefined ? undefined : nameOf(best.oif);
}

function inPrefix(ip: Uint8Array, net: Uint8Array, len: number): boolean {
  for (let i = 0; i < ip.length && len > 0; i++, len -= 8) {
    const mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
    if (((ip[i] ?? 0) & mask) !== ((net[i] ?? 0) & mask)) return false;
  }
  return true;
}
