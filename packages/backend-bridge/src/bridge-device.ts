// The bridge: create or reuse it, its gateway addresses (forceAddress semantics), forwarding.
import { CniError, ErrorCode } from '@podnet/core/cni';
import {
  IFF_PROMISC,
  addressAdd,
  addressDel,
  bridgeAdd,
  bridgeSet,
  formatMac,
  getLink,
  linkDel,
  linkSet,
  listAddresses,
  listLinks,
  parseCidr,
} from '@podnet/core/netlink';
import type { Cidr, Link, NlRequest } from '@podnet/core/netlink';
import { writeSysctl } from '@podnet/core/netns';
import { networkOf } from './cidr.js';
import type { HostSide } from './host.js';

export interface BridgeSpec {
  name: string;
  /** Only applied when this call creates the bridge (an existing bridge keeps its MTU). */
  mtu?: number;
  promisc: boolean;
  vlanFiltering: boolean;
}

export interface EnsuredBridge {
  link: Link & { mac: string };
  created: boolean;
}

/**
 * Create the bridge, or reuse it; a link of that name that is not a bridge is an error. Brings it
 * up, sets promisc and VLAN filtering when asked. A created bridge gets a fixed random MAC: a
 * bridge with a kernel-chosen MAC takes its lowest port's MAC, so the gateway's MAC would change
 * as pods come and go.
 */
export function ensureBridge(host: HostSide, spec: BridgeSpec): EnsuredBridge {
  const nl = host.nl;
  let link = getLink(nl, spec.name);
  let created = false;
  if (!link) {
    try {
      nl.request(
        bridgeAdd({
          name: spec.name,
          up: true,
          mac: randomMac(),
          ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
          ...(spec.vlanFiltering ? { vlanFiltering: true } : {}),
        }),
      );
      created = true;
      host.enter(() => {
        // The bridge never takes router advertisements from pods.
        trySysctl(['net', 'ipv6', 'conf', spec.name, 'accept_ra'], 0);
        // No DAD on the bridge's link-local address. It runs each time the bridge gains carrier
        // (its first pod, and the first after it had none), and while it runs the node cannot
        // resolve a pod's MAC for *forwarded* IPv6: the kernel's neighbour solicitation needs a
        // non-tentative link-local source, so it is not sent and the retry comes 1 s later. The
        // first packet from another node to a new pod was held ~1 s on each bridge on its way.
        trySysctl(['net', 'ipv6', 'conf', spec.name, 'accept_dad'], 0);
      });
    } catch (err) {
      // A concurrent ADD created it first: reuse it.
      if ((err as { code?: unknown }).code !== 'EEXIST') throw vlanUnsupported(err, spec);
    }
    link = getLink(nl, spec.name);
    if (!link) throw new CniError(ErrorCode.IoFailure, `bridge "${spec.name}" vanished right after it was created`);
  }
  if (link.kind !== 'bridge') {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `"bridge": link "${spec.name}" exists and is ${link.kind ? `a ${link.kind}` : 'not a virtual device'}, not a bridge`,
      'name a bridge, or a name not used on the node (podnet creates the bridge)',
    );
  }
  const fixes: NlRequest[] = [];
  if (!link.up) fixes.push(linkSet(link.index, { up: true }));
  if (spec.promisc && (link.flags & IFF_PROMISC) === 0) fixes.push(linkSet(link.index, { promisc: true }));
  if (spec.vlanFiltering && !link.bridge?.vlanFiltering) fixes.push(bridgeSet(link.index, { vlanFiltering: true }));
  if (fixes.length > 0) {
    try {
      nl.batch(fixes);
    } catch (err) {
      throw vlanUnsupported(err, spec);
    }
    link = getLink(nl, spec.name) ?? link;
  }
  if (!link.mac) throw new CniError(ErrorCode.IoFailure, `bridge "${spec.name}" has no MAC address`);
  return { link: link as Link & { mac: string }, created };
}

/** Kernels built without CONFIG_BRIDGE_VLAN_FILTERING refuse vlan_filtering with EOPNOTSUPP. */
function vlanUnsupported(err: unknown, spec: BridgeSpec): unknown {
  if (!spec.vlanFiltering || (err as { code?: unknown }).code !== 'EOPNOTSUPP') return err;
  return new CniError(
    ErrorCode.InvalidConfig,
    `"vlan": the node's kernel has no bridge VLAN filtering (bridge "${spec.name}": EOPNOTSUPP)`,
    'it needs CONFIG_BRIDGE_VLAN_FILTERING; drop "vlan" on this node',
    { cause: err },
  );
}

/** Rollback of a bridge this call created: delete it unless another pod's port is on it by now. */
export function removeBridgeIfUnused(host: HostSide, bridge: Link): void {
  if (listLinks(host.nl, { master: bridge.index }).length > 0) return;
  try {
    host.nl.request(linkDel(bridge.index));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENODEV') throw err;
  }
}

/**
 * Put the gateway addresses on the bridge. An address of the same family whose subnet overlaps a
 * gateway's (e.g. the old subnet after a node's lease changed) is an error, or with forceAddress
 * is replaced. Returns the addresses this call added (for rollback).
 */
export function ensureGatewayAddresses(host: HostSide, bridge: Link, gateways: readonly Cidr[], forceAddress: boolean): Cidr[] {
  const nl = host.nl;
  const existing = listAddresses(nl, { index: bridge.index }).filter((a) => a.scope === 0);
  const removals: NlRequest[] = [];
  const added: Cidr[] = [];
  const adds: NlRequest[] = [];
  for (const gw of gateways) {
    const gwNet = parseCidr(networkOf(gw));
    let present = false;
    for (const a of existing) {
      if (a.family !== gw.family) continue;
      if (a.address === gw.address && a.prefixLength === gw.prefixLength) {
        present = true;
        continue;
      }
      if (!overlaps(a, gwNet)) continue;
      if (!forceAddress) {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `bridge "${bridge.name}" already has address ${a.address}/${a.prefixLength}, different from gateway ${gw.address}/${gw.prefixLength}`,
          'set "forceAddress": true to replace it, or remove it from the bridge',
        );
      }
      removals.push(addressDel({ index: bridge.index, address: a.address, prefixLength: a.prefixLength }));
    }
    if (!present) {
      adds.push(addressAdd({ index: bridge.index, address: gw.address, prefixLength: gw.prefixLength, ...(gw.family === 6 ? { noDad: true } : {}) }));
      added.push(gw);
    }
  }
  if (removals.length > 0) nl.batch(removals);
  if (adds.length > 0) {
    const results = nl.batchSettled(adds);
    const kept: Cidr[] = [];
    results.forEach((err, i) => {
      // EEXIST: a concurrent ADD of the same network added it first; it is there, not ours to undo.
      if (!err) kept.push(added[i]!);
      else if (err.code !== 'EEXIST') throw err;
    });
    return kept;
  }
  return added;
}

/** Rollback of ensureGatewayAddresses, unless other pods now use the bridge. */
export function removeBridgeAddresses(host: HostSide, bridge: Link, addresses: readonly Cidr[]): void {
  // Another pod attached meanwhile relies on the gateway: keep it.
  if (listLinks(host.nl, { master: bridge.index }).length > 0) return;
  host.nl.batchSettled(addresses.map((a) => addressDel({ index: bridge.index, address: a.address, prefixLength: a.prefixLength })));
}

/** Routing between pods and the rest of the node, per family used. */
export function enableForwarding(host: HostSide, families: ReadonlySet<4 | 6>): void {
  host.enter(() => {
    if (families.has(4)) writeSysctl('net.ipv4.ip_forward', 1);
    if (families.has(6)) writeSysctl('net.ipv6.conf.all.forwarding', 1);
  });
}

/** CHECK: the bridge exists and is a bridge. */
export function checkBridge(host: HostSide, name: string): Link {
  const link = getLink(host.nl, name);
  if (!link) throw new CniError(ErrorCode.Internal, `bridge "${name}" does not exist`);
  if (link.kind !== 'bridge') throw new CniError(ErrorCode.Internal, `link "${name}" is a ${link.kind ?? 'device'}, not a bridge`);
  return link;
}

/** STATUS: why the bridge cannot be used, or undefined (a missing bridge is fine: ADD creates it). */
export function bridgeUsable(host: HostSide, name: string): string | undefined {
  const link = getLink(host.nl, name);
  if (link && link.kind !== 'bridge') return `link "${name}" exists and is ${link.kind ? `a ${link.kind}` : 'not a virtual device'}, not a bridge`;
  return undefined;
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefixLength, b.prefixLength);
  return networkOf({ ...a, prefixLength: p }) === networkOf({ ...b, prefixLength: p });
}

function trySysctl(key: string[], value: number): void {
  try {
    writeSysctl(key, value);
  } catch {
    // IPv6 disabled on the node: nothing to turn off.
  }
}

/** A random locally administered unicast MAC. */
function randomMac(): string {
  // Web Crypto's global, not node:crypto: importing that costs ~2 ms of start-up under Bun.
  const b = crypto.getRandomValues(new Uint8Array(6));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return formatMac(b);
}
