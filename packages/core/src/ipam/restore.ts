// After LevelDB's repair: make the two halves of the store agree again, then make the store hold
// every address a live pod really uses.
//
// A repaired store can miss any subset of its keys (a damaged table's entries are gone), so an
// address key may exist without its owner record or the other way round. Either half alone proves
// the allocation was made, so the union is kept: nothing is released here (GC does that, with the
// runtime's list of valid attachments). Where the halves disagree about who holds an address, the
// address key wins, as it does in allocate().
//
// Live claims come from the node (a backend finds them in the kernel: the addresses on the pod
// end of each veth of this network). The kernel is the truth about what is in use: a live address
// the store does not hold for that owner is recorded for it; one the store gives to another owner
// is taken over by the live pod and reported as a conflict, because the other owner (if it still
// exists) would otherwise be handed an address already in use on the wire.
import type { Owner } from './store.js';

/**
 * Owners whose container ID starts with '~' are placeholders: the repair records a live pod's
 * address under one when the pod's real owner cannot be known (a backend whose interfaces name
 * their owner only by digest, and a store that lost every entry of it). CNI container IDs start
 * with a letter or digit, so no runtime owner collides. GC keeps placeholders (their pod is live
 * but not in any runtime list under that name); the next repair with live pods releases those
 * whose pod is gone.
 */
export const PLACEHOLDER_PREFIX = '~';

export function isPlaceholder(owner: Owner): boolean {
  return owner.containerId.startsWith(PLACEHOLDER_PREFIX);
}

export interface StoredAddress {
  /** Plain address. */
  readonly address: string;
  readonly owner: Owner;
  readonly time: string;
}

export interface StoredOwner {
  readonly owner: Owner;
  /** Plain addresses. */
  readonly addresses: readonly string[];
  readonly time: string;
}

/** What a live pod on the node uses: its owner and its addresses (plain, no prefix). */
export interface LiveAttachment {
  readonly owner: Owner;
  readonly addresses: readonly string[];
}

export interface Restored {
  readonly address: string;
  readonly owner: Owner;
  /** Why the store did not hold it: lost entirely, or held by `stored` (a conflict). */
  readonly previous?: Owner;
}

export interface RestorePlan {
  /** Address keys to write: address → owner (and time). */
  readonly addresses: ReadonlyMap<string, StoredAddress>;
  /** Owner records to write (complete); an owner left with no address is deleted. */
  readonly owners: ReadonlyMap<string, StoredOwner>;
  /** Address keys re-created from an owner record, or owner records completed from address keys. */
  readonly relinked: readonly StoredAddress[];
  /** Owner records that listed an address whose key names another owner (the listing is dropped). */
  readonly stale: ReadonlyArray<{ readonly address: string; readonly listedBy: Owner; readonly heldBy: Owner }>;
  /** Addresses recorded again because a live pod uses them. */
  readonly restored: readonly Restored[];
  /** Addresses of placeholder owners whose pod is gone (only when live pods were given). */
  readonly released: readonly StoredAddress[];
  /** Live addresses the store gave another owner, or that two live pods both use. */
  readonly conflicts: ReadonlyArray<{ readonly address: string; readonly live: Owner; readonly other: Owner; readonly reason: string }>;
}

export function ownerId(owner: Owner): string {
  return `${owner.containerId}/${owner.ifname}`;
}

function same(a: Owner, b: Owner): boolean {
  return a.containerId === b.containerId && a.ifname === b.ifname;
}

/**
 * Plans the writes that make the store consistent and cover every live claim. Only changed keys
 * are in the plan's maps; `owners` entries with no addresses mean "delete the record".
 */
export function planRestore(
  storedAddresses: readonly StoredAddress[],
  storedOwners: readonly StoredOwner[],
  live: readonly LiveAttachment[] | undefined,
  now: string,
): RestorePlan {
  const holder = new Map<string, StoredAddress>(storedAddresses.map((a) => [a.address, a]));
  const records = new Map<string, { owner: Owner; addresses: string[]; time: string }>();
  for (const o of storedOwners) records.set(ownerId(o.owner), { owner: o.owner, addresses: [...o.addresses], time: o.time });
  const changedAddresses = new Map<string, StoredAddress>();
  const changedOwners = new Set<string>();
  const relinked: StoredAddress[] = [];
  const stale: Array<{ address: string; listedBy: Owner; heldBy: Owner }> = [];
  const restored: Restored[] = [];
  const conflicts: Array<{ address: string; live: Owner; other: Owner; reason: string }> = [];

  const recordOf = (owner: Owner, time: string): { owner: Owner; addresses: string[]; time: string } => {
    const id = ownerId(owner);
    let record = records.get(id);
    if (record === undefined) {
      record = { owner, addresses: [], time };
      records.set(id, record);
    }
    return record;
  };
  const list = (owner: Owner, address: string, time: string): boolean => {
    const record = recordOf(owner, time);
    if (record.addresses.includes(address)) return false;
    record.addresses.push(address);
    changedOwners.add(ownerId(owner));
    return true;
  };
  const unlist = (owner: Owner, address: string): void => {
    const record = records.get(ownerId(owner));
    if (record === undefined || !record.addresses.includes(address)) return;
    record.addresses = record.addresses.filter((a) => a !== address);
    changedOwners.add(ownerId(owner));
  };
  const hold = (address: string, owner: Owner, time: string): void => {
    const entry = { address, owner, time };
    holder.set(address, entry);
    changedAddresses.set(address, entry);
  };

  // 1. Address keys whose owner record lost them: complete the record.
  for (const a of storedAddresses) {
    if (list(a.owner, a.address, a.time)) relinked.push(a);
  }
  // 2. Owner records listing an address whose key is gone: re-create the key; one naming another
  //    owner: the key wins, the listing goes.
  for (const o of storedOwners) {
    for (const address of o.addresses) {
      const held = holder.get(address);
      if (held === undefined) {
        hold(address, o.owner, o.time);
        relinked.push({ address, owner: o.owner, time: o.time });
      } else if (!same(held.owner, o.owner)) {
        unlist(o.owner, address);
        stale.push({ address, listedBy: o.owner, heldBy: held.owner });
      }
    }
  }
  // 3. Live claims: the kernel is the truth about what is in use.
  const claimedBy = new Map<string, Owner>();
  for (const pod of live ?? []) {
    for (const address of pod.addresses) {
      const first = claimedBy.get(address);
      if (first !== undefined && !same(first, pod.owner)) {
        // Two live pods on one address: the store can record only one; the first found keeps it.
        conflicts.push({ address, live: pod.owner, other: first, reason: 'two live pods use this address; the other one keeps it in the store' });
        continue;
      }
      claimedBy.set(address, pod.owner);
      const held = holder.get(address);
      if (held !== undefined && same(held.owner, pod.owner)) {
        if (list(pod.owner, address, held.time)) restored.push({ address, owner: pod.owner });
        continue;
      }
      if (held !== undefined) {
        conflicts.push({ address, live: pod.owner, other: held.owner, reason: 'the store gave it to another owner; the live pod keeps it' });
        unlist(held.owner, address);
      }
      hold(address, pod.owner, now);
      list(pod.owner, address, now);
      restored.push({ address, owner: pod.owner, ...(held !== undefined ? { previous: held.owner } : {}) });
    }
  }

  // 4. Placeholders no live pod uses any more: their pod is gone, so is the claim.
  const released: StoredAddress[] = [];
  if (live !== undefined) {
    for (const entry of [...holder.values()]) {
      if (!isPlaceholder(entry.owner) || claimedBy.has(entry.address)) continue;
      released.push(entry);
      holder.delete(entry.address);
      changedAddresses.delete(entry.address);
      unlist(entry.owner, entry.address);
    }
  }

  const owners = new Map<string, StoredOwner>();
  for (const id of changedOwners) {
    const record = records.get(id);
    if (record !== undefined) owners.set(id, { owner: record.owner, addresses: record.addresses, time: record.time });
  }
  return { addresses: changedAddresses, owners, relinked, stale, restored, released, conflicts };
}
