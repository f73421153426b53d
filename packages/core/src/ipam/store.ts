// The allocation store: one LevelDB per network, every change one atomic batch.
//
// Keys (UTF-8; values JSON unless noted):
//   ip:<4|6><hex address>         → {"containerId","ifname","time"}   who holds the address
//   owner:<containerId>/<ifname>  → {"addresses":["10.22.0.5",…],"time"} what the owner holds
//   last:<range set key>          → "10.22.0.5" (plain text)            round-robin position
//   meta:schema                   → "1" (plain text)                    layout version
// Address keys are fixed-width hex so keys sort like addresses: the free-address search walks only
// the held addresses in its way. Allocation, release and lookup read a handful of keys; only
// `list` and `gc` scan.
//
// Batches are written without fsync: LevelDB's log makes each batch all-or-nothing across a process
// crash (a torn record is dropped on recovery; the multi-process crash test kills writers mid-batch),
// and a power loss takes the pods whose allocations it could lose with it (GC cleans up after).
import { addressKey, formatIp, parseAddressKey, parseIp } from './address.js';
import type { Family, Ip } from './address.js';
import { pickAddress } from './allocator.js';
import type { Exclusions, Occupancy } from './allocator.js';
import { openDatabase } from './database.js';
import type { Database, DatabaseSession, OpenOptions } from './database.js';
import { IpamError, IpamErrorCode, invalidConfig } from './errors.js';
import { formatCidr, rangeOf } from './range.js';
import type { RangeSet } from './range.js';
import type { RequestedAddress } from './request.js';
import { PLACEHOLDER_PREFIX, planRestore } from './restore.js';
import type { LiveAttachment, RestorePlan, StoredAddress, StoredOwner } from './restore.js';
import { damagedError, isCorruption } from './store-dir.js';

/**
 * The live pods for a restore: a list, or a function given every owner the repaired store knows
 * (a backend that identifies pods by a digest of their owner maps digests back through it).
 */
export type LiveSource = readonly LiveAttachment[] | ((known: readonly Owner[]) => readonly LiveAttachment[] | Promise<readonly LiveAttachment[]>);

/** Who holds addresses: one interface of one container (the CNI attachment). */
export interface Owner {
  readonly containerId: string;
  readonly ifname: string;
}

/** One held address, as `list` and `gc` report it. */
export interface AllocationEntry {
  /** Plain address, e.g. "10.22.0.5" or "fd00:22::5". */
  readonly address: string;
  readonly owner: Owner;
  /** ISO 8601 time of the allocation. */
  readonly time: string;
}

/** One address handed to an owner, in range-set order. */
export interface AllocatedAddress {
  /** CIDR with the subnet's prefix, e.g. "10.22.0.5/16". */
  readonly address: string;
  readonly gateway: string;
  readonly family: Family;
}

/** What `allocate` needs from the config. */
export interface AllocationPlan {
  readonly rangeSets: readonly RangeSet[];
  readonly exclusions: Exclusions;
  readonly requested: readonly RequestedAddress[];
}

interface OwnerRecord {
  addresses: string[];
  time: string;
}

interface AddressRecord {
  containerId: string;
  ifname: string;
  time: string;
}

const IP = 'ip:';
const OWNER = 'owner:';
const LAST = 'last:';
const SCHEMA_KEY = 'meta:schema';
const SCHEMA = '1';

/** The exclusive upper bound of keys starting with `prefix` (prefixes end in ':'; ';' follows it). */
function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)};`;
}

function ownerKey(owner: Owner): string {
  return `${OWNER}${owner.containerId}/${owner.ifname}`;
}

function ipKey(family: Family, value: bigint): string {
  return IP + addressKey(family, value);
}

function sameOwner(record: AddressRecord | undefined, owner: Owner): boolean {
  return record !== undefined && record.containerId === owner.containerId && record.ifname === owner.ifname;
}

function checkOwner(owner: Owner): void {
  // ifname has no '/' (CNI forbids it), so "<containerId>/<ifname>" splits at the last '/'.
  if (typeof owner.containerId !== 'string' || owner.containerId === '') {
    throw invalidConfig(`invalid containerId ${JSON.stringify(owner.containerId)}`, 'expected a non-empty container ID');
  }
  if (typeof owner.ifname !== 'string' || owner.ifname === '' || owner.ifname.includes('/')) {
    throw invalidConfig(`invalid ifname ${JSON.stringify(owner.ifname)}`, 'expected a non-empty interface name without "/"');
  }
}

function describeOwner(owner: Owner): string {
  return `container ${owner.containerId} interface ${owner.ifname}`;
}

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // a damaged value reads as absent; gc removes it
  }
}

function parseHeld(addresses: readonly string[]): Ip[] {
  return addresses.map((a) => parseIp(a)).filter((ip): ip is Ip => ip !== undefined);
}

/** A tiny FIFO lock: one operation at a time per open store within this process. */
class Mutex {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class IpamStore {
  readonly #db: Database;
  readonly #session: DatabaseSession;
  readonly #mutex = new Mutex();
  #closed = false;
  /** An operation found damaged files: closing skips the compaction wait (it would never end). */
  #damaged = false;

  private constructor(
    /** The store's directory, `<dataDir>/<network name>`. */
    readonly path: string,
    session: DatabaseSession,
  ) {
    this.#session = session;
    this.#db = session.db;
  }

  /**
   * Opens the store at `path`, waiting up to `lockTimeoutMs` for other processes (then code 11).
   * Hold it briefly: other processes wait while it is open. `lock`, when given, is taken before
   * LevelDB is opened and released after it is closed (see StoreLock).
   */
  static async open(path: string, options: Partial<OpenOptions> = {}): Promise<IpamStore> {
    const session = await openDatabase(path, { lockTimeoutMs: options.lockTimeoutMs ?? 10_000, create: options.create ?? true, lock: options.lock });
    return new IpamStore(path, session);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.run(() => this.#session.close({ upkeep: !this.#damaged }));
  }

  #occupancy(): Occupancy {
    const db = this.#db;
    return {
      async *held(family: Family, from: bigint, to: bigint): AsyncIterable<readonly bigint[]> {
        const iterator = db.keys({ gte: ipKey(family, from), lte: ipKey(family, to) });
        try {
          // Small first read: usually the first candidate is free. nextv may return fewer keys
          // than asked for (it caps a batch's bytes) before the end: only an empty batch ends.
          for (let size = 8; ; size = Math.min(size * 4, 4096)) {
            const keys = await iterator.nextv(size);
            if (keys.length === 0) return;
            const values: bigint[] = [];
            for (const key of keys) {
              const ip = parseAddressKey(key.slice(IP.length));
              if (ip !== undefined) values.push(ip.value);
            }
            yield values;
          }
        } finally {
          await iterator.close();
        }
      },
    };
  }

  #io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new IpamError(IpamErrorCode.IoFailure, `IPAM store ${this.path} is closed`, `cannot ${what}`));
    return this.#mutex.run(async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof IpamError) throw err;
        const reason = err instanceof Error ? err.message : String(err);
        if (isCorruption(reason)) {
          this.#damaged = true;
          throw damagedError(this.path, what, reason, err);
        }
        throw new IpamError(IpamErrorCode.IoFailure, `IPAM store ${this.path}: cannot ${what}`, reason, { cause: err });
      }
    });
  }

  /**
   * Gives `owner` one address per range set, in one atomic batch, and returns them in set order.
   * Idempotent: an owner that already holds a fitting address in a set keeps it (ADD again returns
   * the same addresses); held addresses that no longer fit the plan are released in the same batch.
   * Requested addresses must be free or already the owner's (else code 100); an exhausted set is
   * code 101. On any error nothing is written.
   */
  allocate(plan: AllocationPlan, owner: Owner): Promise<AllocatedAddress[]> {
    return this.#io('allocate', async () => {
      checkOwner(owner);
      const db = this.#db;
      const oKey = ownerKey(owner);
      const record = parseJson<OwnerRecord>(await db.get(oKey));
      // Trust only held addresses whose address key still names this owner.
      const claimed = parseHeld(record?.addresses ?? []);
      const claimedRecords = claimed.length > 0 ? await db.getMany(claimed.map((ip) => ipKey(ip.family, ip.value))) : [];
      const held = claimed.filter((_, i) => sameOwner(parseJson<AddressRecord>(claimedRecords[i]), owner));
      const isHeld = (family: Family, value: bigint): boolean => held.some((h) => h.family === family && h.value === value);

      const chosen: Ip[] = [];
      const lastUpdates: Array<{ key: string; value: string }> = [];
      for (const [index, set] of plan.rangeSets.entries()) {
        const request = plan.requested.find((r) => r.set === index);
        if (request !== undefined) {
          if (!isHeld(request.family, request.value)) {
            const holder = parseJson<AddressRecord>(await db.get(ipKey(request.family, request.value)));
            if (holder !== undefined && !sameOwner(holder, owner)) {
              throw new IpamError(
                IpamErrorCode.AddressInUse,
                `requested address ${request.source} ${formatIp(request.family, request.value)} is held by ${describeOwner(holder)}`,
                'expected a free address; leave it out to get one from the range',
              );
            }
          }
          chosen.push({ family: request.family, value: request.value });
          continue;
        }
        const keep = held.find((h) => rangeOf(set, h.family, h.value) !== undefined && !plan.exclusions.has(h.family, h.value));
        if (keep !== undefined) {
          chosen.push(keep);
          continue;
        }
        const lastKey = LAST + set.key;
        const lastText = await db.get(lastKey);
        const last = lastText === undefined ? undefined : parseIp(lastText);
        const value = await pickAddress(set, last?.family === set.family ? last.value : undefined, plan.exclusions, this.#occupancy());
        if (value === undefined) {
          throw new IpamError(
            IpamErrorCode.RangeExhausted,
            `no free address in ${set.path} (${set.ranges.map((r) => formatCidr(r.family, r.network, r.prefix)).join(', ')})`,
            'every address of the range set is held, a gateway or reserved; release some (DEL, GC) or add a range',
          );
        }
        chosen.push({ family: set.family, value });
        lastUpdates.push({ key: lastKey, value: formatIp(set.family, value) });
      }

      const isChosen = (ip: Ip): boolean => chosen.some((c) => c.family === ip.family && c.value === ip.value);
      const added = chosen.filter((c) => !isHeld(c.family, c.value));
      const dropped = held.filter((h) => !isChosen(h));
      // Nothing to write when the owner already holds exactly these (ADD repeated).
      const unchanged = record !== undefined && added.length === 0 && dropped.length === 0 && record.addresses.length === held.length;
      if (!unchanged) {
        const time = new Date().toISOString();
        const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
        const addressValue = JSON.stringify({ containerId: owner.containerId, ifname: owner.ifname, time } satisfies AddressRecord);
        for (const ip of added) ops.push({ type: 'put', key: ipKey(ip.family, ip.value), value: addressValue });
        for (const ip of dropped) ops.push({ type: 'del', key: ipKey(ip.family, ip.value) });
        const ownerValue: OwnerRecord = { addresses: chosen.map((c) => formatIp(c.family, c.value)), time };
        ops.push({ type: 'put', key: oKey, value: JSON.stringify(ownerValue) });
        for (const update of lastUpdates) ops.push({ type: 'put', ...update });
        ops.push({ type: 'put', key: SCHEMA_KEY, value: SCHEMA });
        await db.batch(ops);
      }
      return chosen.map((ip, index) => {
        const set = plan.rangeSets[index];
        const range = set === undefined ? undefined : rangeOf(set, ip.family, ip.value);
        if (range === undefined) throw new Error(`internal: ${formatIp(ip.family, ip.value)} outside its range set`);
        return { address: formatCidr(ip.family, ip.value, range.prefix), gateway: formatIp(ip.family, range.gateway), family: ip.family };
      });
    });
  }

  /** Releases everything `owner` holds, in one batch; returns the released addresses (none is fine). */
  release(owner: Owner): Promise<string[]> {
    return this.#io('release', async () => {
      checkOwner(owner);
      const db = this.#db;
      const oKey = ownerKey(owner);
      const raw = await db.get(oKey);
      const record = parseJson<OwnerRecord>(raw);
      if (record === undefined) {
        // Absent, or damaged: a damaged record still has to go.
        if (raw !== undefined) await db.del(oKey);
        return [];
      }
      const held = parseHeld(record.addresses);
      const values = held.length > 0 ? await db.getMany(held.map((ip) => ipKey(ip.family, ip.value))) : [];
      const ops: Array<{ type: 'del'; key: string }> = [{ type: 'del', key: oKey }];
      const released: string[] = [];
      held.forEach((ip, i) => {
        // Never release an address that (against all odds) belongs to someone else now.
        if (sameOwner(parseJson<AddressRecord>(values[i]), owner)) {
          ops.push({ type: 'del', key: ipKey(ip.family, ip.value) });
          released.push(formatIp(ip.family, ip.value));
        }
      });
      await db.batch(ops);
      return released;
    });
  }

  /** The addresses `owner` holds (plain), or undefined when it holds none. */
  lookup(owner: Owner): Promise<string[] | undefined> {
    return this.#io('look up', async () => {
      checkOwner(owner);
      const record = parseJson<OwnerRecord>(await this.#db.get(ownerKey(owner)));
      if (record === undefined) return undefined;
      const held = parseHeld(record.addresses);
      const values = held.length > 0 ? await this.#db.getMany(held.map((ip) => ipKey(ip.family, ip.value))) : [];
      const confirmed = held.filter((_, i) => sameOwner(parseJson<AddressRecord>(values[i]), owner));
      return confirmed.map((ip) => formatIp(ip.family, ip.value));
    });
  }

  /**
   * Confirms `owner` holds its allocation and, when `expected` is given (addresses with or without
   * prefix), exactly those addresses. Code 102 otherwise.
   */
  async check(owner: Owner, expected?: readonly string[]): Promise<void> {
    const held = await this.lookup(owner);
    if (held === undefined || held.length === 0) {
      throw new IpamError(
        IpamErrorCode.NotAllocated,
        `${describeOwner(owner)} holds no address in IPAM store ${this.path}`,
        'expected an allocation made by ADD',
      );
    }
    if (expected === undefined) return;
    const want = new Set<string>();
    for (const text of expected) {
      const ip = parseIp(text.split('/')[0] ?? '');
      if (ip === undefined) throw invalidConfig(`invalid expected address ${JSON.stringify(text)}`, 'expected an IP address, optionally with a prefix');
      want.add(formatIp(ip.family, ip.value));
    }
    const have = new Set(held);
    const missing = [...want].filter((a) => !have.has(a));
    const extra = [...have].filter((a) => !want.has(a));
    if (missing.length > 0 || extra.length > 0) {
      throw new IpamError(
        IpamErrorCode.NotAllocated,
        `${describeOwner(owner)} holds ${[...have].join(', ')} but ${[...want].join(', ') || 'nothing'} was expected`,
        [missing.length > 0 ? `not held: ${missing.join(', ')}` : '', extra.length > 0 ? `held but not expected: ${extra.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
      );
    }
  }

  /** Every held address with its owner and time, in address order (v4 first). Scans. */
  list(): Promise<AllocationEntry[]> {
    return this.#io('list', async () => {
      const entries: AllocationEntry[] = [];
      for await (const [key, value] of this.#db.iterator({ gte: IP, lt: prefixEnd(IP) })) {
        const ip = parseAddressKey(key.slice(IP.length));
        const record = parseJson<AddressRecord>(value);
        if (ip === undefined || record === undefined) continue;
        entries.push({
          address: formatIp(ip.family, ip.value),
          owner: { containerId: record.containerId, ifname: record.ifname },
          time: record.time,
        });
      }
      return entries;
    });
  }

  /**
   * Releases every allocation whose owner is not in `valid`, plus anything inconsistent (an address
   * key whose owner record does not list it, damaged values), in one batch. Returns what it
   * released. Scans.
   */
  gc(valid: readonly Owner[]): Promise<AllocationEntry[]> {
    return this.#io('collect garbage', async () => {
      for (const owner of valid) checkOwner(owner);
      const db = this.#db;
      const keep = new Set(valid.map(ownerKey));
      const ops: Array<{ type: 'del'; key: string }> = [];
      const owners = new Map<string, Set<string>>();
      for await (const [key, value] of db.iterator({ gte: OWNER, lt: prefixEnd(OWNER) })) {
        const record = parseJson<OwnerRecord>(value);
        // Placeholders of the repair (restore.ts) hold addresses of live pods no runtime names so.
        const placeholder = key.startsWith(`${OWNER}${PLACEHOLDER_PREFIX}`);
        if ((keep.has(key) || placeholder) && record !== undefined) owners.set(key, new Set(record.addresses));
        else ops.push({ type: 'del', key });
      }
      const released: AllocationEntry[] = [];
      for await (const [key, value] of db.iterator({ gte: IP, lt: prefixEnd(IP) })) {
        const ip = parseAddressKey(key.slice(IP.length));
        const record = parseJson<AddressRecord>(value);
        const address = ip === undefined ? undefined : formatIp(ip.family, ip.value);
        const listed = record === undefined || address === undefined ? false : owners.get(ownerKey(record))?.has(address) === true;
        if (listed) continue;
        ops.push({ type: 'del', key });
        if (record !== undefined && address !== undefined) {
          released.push({ address, owner: { containerId: record.containerId, ifname: record.ifname }, time: record.time });
        }
      }
      if (ops.length > 0) await db.batch(ops);
      return released;
    });
  }

  /** Proves the store can be written (STATUS): one small batch. */
  probe(): Promise<void> {
    return this.#io('write', async () => {
      await this.#db.batch([{ type: 'put', key: SCHEMA_KEY, value: SCHEMA }]);
    });
  }

  /**
   * Reads every key and value (STATUS's health check): a damaged or missing table fails here, with
   * LevelDB's message naming the file, instead of at the ADD or DEL that happens to need it.
   * Returns the number of entries read.
   */
  verify(): Promise<number> {
    return this.#io('read every entry', async () => {
      let entries = 0;
      const iterator = this.#db.iterator({ keys: true, values: true, fillCache: false });
      try {
        for (;;) {
          const batch = await iterator.nextv(4096);
          if (batch.length === 0) return entries;
          entries += batch.length;
        }
      } finally {
        await iterator.close();
      }
    });
  }

  /**
   * After a repair: makes address keys and owner records agree and records every `live` address
   * for its owner (see restore.ts), in one batch. Releases nothing. Returns what it changed.
   */
  restore(source: LiveSource | undefined): Promise<RestorePlan> {
    return this.#io('restore', async () => {
      const db = this.#db;
      const addresses: StoredAddress[] = [];
      for await (const [key, value] of db.iterator({ gte: IP, lt: prefixEnd(IP) })) {
        const ip = parseAddressKey(key.slice(IP.length));
        const record = parseJson<AddressRecord>(value);
        // A damaged value still blocks its address (allocation reads keys only); GC removes it.
        if (ip === undefined || record === undefined || typeof record.containerId !== 'string' || typeof record.ifname !== 'string') continue;
        addresses.push({
          address: formatIp(ip.family, ip.value),
          owner: { containerId: record.containerId, ifname: record.ifname },
          time: String(record.time),
        });
      }
      const owners: StoredOwner[] = [];
      for await (const [key, value] of db.iterator({ gte: OWNER, lt: prefixEnd(OWNER) })) {
        const id = key.slice(OWNER.length);
        const slash = id.lastIndexOf('/');
        const record = parseJson<OwnerRecord>(value);
        if (slash <= 0 || record === undefined || !Array.isArray(record.addresses)) continue;
        const held = parseHeld(record.addresses.filter((a): a is string => typeof a === 'string'));
        owners.push({
          owner: { containerId: id.slice(0, slash), ifname: id.slice(slash + 1) },
          addresses: held.map((ip) => formatIp(ip.family, ip.value)),
          time: String(record.time),
        });
      }
      const known = new Map<string, Owner>();
      for (const entry of [...addresses, ...owners]) known.set(ownerKey(entry.owner), entry.owner);
      const live = typeof source === 'function' ? await source([...known.values()]) : source;
      for (const pod of live ?? []) checkOwner(pod.owner);
      const normalized = live?.map((pod) => ({ owner: pod.owner, addresses: parseHeld(pod.addresses).map((ip) => formatIp(ip.family, ip.value)) }));
      const plan = planRestore(addresses, owners, normalized, new Date().toISOString());
      const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
      for (const entry of plan.addresses.values()) {
        const ip = parseIp(entry.address);
        if (ip === undefined) continue;
        const value: AddressRecord = { containerId: entry.owner.containerId, ifname: entry.owner.ifname, time: entry.time };
        ops.push({ type: 'put', key: ipKey(ip.family, ip.value), value: JSON.stringify(value) });
      }
      for (const entry of plan.released) {
        const ip = parseIp(entry.address);
        if (ip !== undefined) ops.push({ type: 'del', key: ipKey(ip.family, ip.value) });
      }
      for (const entry of plan.owners.values()) {
        const key = ownerKey(entry.owner);
        if (entry.addresses.length === 0) ops.push({ type: 'del', key });
        else ops.push({ type: 'put', key, value: JSON.stringify({ addresses: [...entry.addresses], time: entry.time } satisfies OwnerRecord) });
      }
      if (ops.length > 0) {
        ops.push({ type: 'put', key: SCHEMA_KEY, value: SCHEMA });
        await db.batch(ops);
      }
      return plan;
    });
  }
}
