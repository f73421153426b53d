// Diffing the permanent neighbours and FDB entries on our devices against the plan, as Calico's
// vxlanfdb does: what is missing or different is put, a permanent entry we do not expect is
// deleted (a leftover of a node that left, a MAC that changed, an entry someone added by hand).
// Entries the kernel learned (not permanent) are left to the kernel. Pure.
import { NUD_PERMANENT, formatIp, parseIp } from '@podnet/core/netlink';
import type { FdbEntry, FdbSpec, Neighbour, NeighbourSpec } from '@podnet/core/netlink';

export interface EntryDiff<Want, Have> {
  put: Want[];
  del: Have[];
}

const canonical = (ip: string): string => formatIp(parseIp(ip));
const permanent = (state: number): boolean => (state & NUD_PERMANENT) !== 0;

/** Neighbours on the devices `indexes` (the dump may hold other links' entries too). */
export function diffNeighbours(have: readonly Neighbour[], want: readonly NeighbourSpec[], indexes: ReadonlySet<number>): EntryDiff<NeighbourSpec, Neighbour> {
  const id = (index: number, address: string): string => `${index}|${address}`;
  const current = new Map<string, Neighbour>();
  for (const n of have) if (indexes.has(n.index)) current.set(id(n.index, n.address), n);
  const wanted = new Set<string>();
  const put: NeighbourSpec[] = [];
  for (const w of want) {
    const k = id(w.index, canonical(w.address));
    wanted.add(k);
    const n = current.get(k);
    if (!n || !permanent(n.state) || n.mac !== w.mac) put.push(w);
  }
  const del = [...current.entries()].filter(([k, n]) => !wanted.has(k) && permanent(n.state)).map(([, n]) => n);
  return { put, del };
}

/**
 * FDB entries on the devices `indexes`, one (MAC, remote) pair each. Puts are meant for
 * NLM_F_REPLACE: on a VXLAN device a unicast MAC has one remote, which a replace swaps, so a
 * wanted MAC's entry with another remote is not deleted but replaced (never a moment without it).
 */
export function diffFdb(have: readonly FdbEntry[], want: readonly FdbSpec[], indexes: ReadonlySet<number>): EntryDiff<FdbSpec, FdbEntry> {
  const id = (index: number, mac: string, dst: string | undefined): string => `${index}|${mac}|${dst ?? ''}`;
  const current = new Map<string, FdbEntry>();
  for (const e of have) if (indexes.has(e.index)) current.set(id(e.index, e.mac, e.dst), e);
  const wanted = new Set<string>();
  const wantedMacs = new Set<string>();
  const put: FdbSpec[] = [];
  for (const w of want) {
    const k = id(w.index, w.mac, w.dst !== undefined ? canonical(w.dst) : undefined);
    wanted.add(k);
    wantedMacs.add(`${w.index}|${w.mac}`);
    const e = current.get(k);
    if (!e || !permanent(e.state)) put.push(w);
  }
  const del = [...current.entries()].filter(([k, e]) => !wanted.has(k) && permanent(e.state) && !wantedMacs.has(`${e.index}|${e.mac}`)).map(([, e]) => e);
  return { put, del };
}
