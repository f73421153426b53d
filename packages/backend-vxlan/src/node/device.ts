// The overlay device of one family: found by name, compared with what it must be, and created,
// replaced, raised or adjusted so that it is. Settings that define the tunnel (VNI, port, local
// VTEP address, underlay link, MAC, learning, GBP) cannot be trusted to change in place on every
// kernel, and a device someone else made with our name is not ours to half-reuse: any difference
// means delete and create (peers are replayed by the same reconcile). MTU and up are set in place.
import { addressDel, addressReplace, getLink, linkDel, linkSet, listAddresses, vxlanAdd, RT_SCOPE_LINK } from '@podnet/core/netlink';
import type { Link, NetlinkConn } from '@podnet/core/netlink';

/** One device per family; names independent of the VNI, so a VNI change is a settings change. */
export const DEVICE_NAMES = { 4: 'vxlan.podnet', 6: 'vxlan6.podnet' } as const;

export interface DeviceSpec {
  name: string;
  /** The overlay's family (the family of the address on the device and of its peers' subnets). */
  family: 4 | 6;
  vni: number;
  port: number;
  /** Local VTEP: this node's underlay address (of the overlay's family). */
  local: string;
  /** The underlay link's ifindex. */
  dev: number;
  mac: string;
  mtu: number;
  learning: boolean;
  gbp: boolean;
  /** This node's subnet network address, put on the device as /32 (/128): the local VTEP address. */
  address: string;
}

export interface DeviceResult {
  index: number;
  /** What was done: nothing, or what was wrong. */
  actions: string[];
}

/** Why `link` is not the device `spec` describes (empty: it is). MTU and up are not listed. */
export function deviceMismatch(link: Link, spec: DeviceSpec): string[] {
  if (link.kind !== 'vxlan' || !link.vxlan) return [`is a ${link.kind ?? 'physical'} link, not vxlan`];
  const v = link.vxlan;
  const out: string[] = [];
  if (v.vni !== spec.vni) out.push(`VNI ${v.vni} (want ${spec.vni})`);
  if (v.port !== spec.port) out.push(`port ${v.port ?? 'unset'} (want ${spec.port})`);
  if (v.local !== spec.local) out.push(`local ${v.local ?? 'unset'} (want ${spec.local})`);
  if (v.dev !== spec.dev) out.push(`underlay link #${v.dev ?? 'unset'} (want #${spec.dev})`);
  if ((v.learning ?? false) !== spec.learning) out.push(`learning ${v.learning ? 'on' : 'off'} (want ${spec.learning ? 'on' : 'off'})`);
  if ((v.gbp ?? false) !== spec.gbp) out.push(`GBP ${v.gbp ? 'on' : 'off'} (want ${spec.gbp ? 'on' : 'off'})`);
  if (link.mac !== spec.mac) out.push(`MAC ${link.mac ?? 'unset'} (want ${spec.mac})`);
  return out;
}

/** Makes the device match `spec`; returns its ifindex and what was changed. */
export function ensureDevice(conn: NetlinkConn, spec: DeviceSpec): DeviceResult {
  const actions: string[] = [];
  let link = getLink(conn, spec.name);
  if (link) {
    const wrong = deviceMismatch(link, spec);
    if (wrong.length > 0) {
      conn.request(linkDel(link.index));
      actions.push(`replaced: ${wrong.join(', ')}`);
      link = undefined;
    }
  } else {
    actions.push('created');
  }
  if (!link) {
    conn.request(
      vxlanAdd({
        name: spec.name,
        vni: spec.vni,
        local: spec.local,
        dev: spec.dev,
        port: spec.port,
        learning: spec.learning,
        gbp: spec.gbp,
        mac: spec.mac,
        mtu: spec.mtu,
      }),
    );
    link = getLink(conn, spec.name);
    if (!link) throw new Error(`vxlan device "${spec.name}" vanished right after it was created`);
  }
  const index = link.index;
  if (link.mtu !== spec.mtu) {
    conn.request(linkSet(index, { mtu: spec.mtu }));
    if (actions.length === 0) actions.push(`MTU ${link.mtu} → ${spec.mtu}`);
  }
  if (!link.up) {
    conn.request(linkSet(index, { up: true }));
    if (actions.length === 0) actions.push('was down: set up');
  }
  actions.push(...ensureAddress(conn, index, spec));
  return { index, actions };
}

/** Exactly one global address on the device: the local VTEP address. Link-local ones stay. */
function ensureAddress(conn: NetlinkConn, index: number, spec: DeviceSpec): string[] {
  const prefixLength = spec.family === 4 ? 32 : 128;
  const actions: string[] = [];
  let present = false;
  for (const a of listAddresses(conn, { index })) {
    if (a.scope === RT_SCOPE_LINK) continue;
    if (a.address === spec.address && a.prefixLength === prefixLength) {
      present = true;
      continue;
    }
    // A stale VTEP address (the node's subnet changed) would answer for a subnet no longer ours.
    conn.request(addressDel({ index, address: a.address, prefixLength: a.prefixLength }));
    actions.push(`address ${a.address}/${a.prefixLength} removed`);
  }
  if (!present) {
    conn.request(addressReplace({ index, address: spec.address, prefixLength, ...(spec.family === 6 ? { noDad: true } : {}) }));
    actions.push(`address ${spec.address}/${prefixLength} added`);
  }
  return actions;
}

/** Deletes our device of `name` if it exists; true when one was deleted. */
export function removeDevice(conn: NetlinkConn, name: string): boolean {
  const link = getLink(conn, name);
  if (!link) return false;
  conn.request(linkDel(link.index));
  return true;
}
