// Stores kept open for a long-lived process (podnetd serving CNI calls): a store is opened on its
// first call — taking its inter-process lock, so no other process writes it meanwhile — and every
// call while it stays open costs the operation alone (~0.6–1 ms instead of 4–6 ms with the open).
// It is closed again once no call has used it for `idleMs` (default 1 s): a burst of calls shares
// one open, and between bursts the store is free for the IPAM's own tools (repair, list) and for
// anything else that opens it per call. A store that fails with an I/O error is closed at once and
// opened afresh by the next call, so a repaired or restored store is picked up without a restart.
import type { StoreLocation } from './config.js';
import type { StoreLock } from './database.js';
import { IpamError, IpamErrorCode } from './errors.js';
import type { StoreProvider } from './ipam.js';
import { IpamStore } from './store.js';

interface Held {
  store: Promise<IpamStore>;
  users: number;
  idle?: ReturnType<typeof setTimeout>;
}

export interface HeldStoresOptions {
  /** Taken when a store is opened, released when it is closed. */
  lock?: StoreLock;
  /** Close a store this long after its last call (ms; default 1000). */
  idleMs?: number;
}

export class HeldStores implements StoreProvider {
  readonly #held = new Map<string, Held>();
  readonly #lock: StoreLock | undefined;
  readonly #idleMs: number;
  #closed = false;

  constructor(options: HeldStoresOptions = {}) {
    this.#lock = options.lock;
    this.#idleMs = options.idleMs ?? 1_000;
  }

  async use<T>(location: StoreLocation, fn: (store: IpamStore) => Promise<T>): Promise<T> {
    if (this.#closed) throw new IpamError(IpamErrorCode.TryAgainLater, `IPAM store ${location.path}: the process is shutting down`);
    let held = this.#held.get(location.path);
    if (!held) {
      const store = IpamStore.open(location.path, { lockTimeoutMs: location.lockTimeoutMs, create: true, lock: this.#lock });
      const entry: Held = { store, users: 0 };
      held = entry;
      this.#held.set(location.path, entry);
      store.catch(() => {
        if (this.#held.get(location.path) === entry) this.#held.delete(location.path);
      });
    }
    if (held.idle) clearTimeout(held.idle);
    delete held.idle;
    held.users++;
    let failed = false;
    try {
      return await fn(await held.store);
    } catch (err) {
      failed = err instanceof IpamError && err.code === IpamErrorCode.IoFailure;
      throw err;
    } finally {
      held.users--;
      if (failed) await this.#drop(location.path, held);
      else if (held.users === 0 && !this.#closed) {
        const entry = held;
        entry.idle = setTimeout(() => void this.#drop(location.path, entry), this.#idleMs);
        entry.idle.unref?.();
      }
    }
  }

  /** The paths open now. */
  get paths(): string[] {
    return [...this.#held.keys()];
  }

  async #drop(path: string, held: Held): Promise<void> {
    if (this.#held.get(path) !== held || held.users > 0) return;
    this.#held.delete(path);
    if (held.idle) clearTimeout(held.idle);
    await (await held.store.catch(() => undefined))?.close().catch(() => undefined);
  }

  /** Close every store (and release their locks). */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#held.entries()];
    await Promise.allSettled(all.map(([path, held]) => this.#drop(path, held)));
  }
}
