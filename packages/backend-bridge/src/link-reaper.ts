// Deleting a veth makes the kernel wait (~15–20 ms here) for the network stack to let go of it,
// inside the sendmsg of the calling thread. A process that deletes one pod's veth per call pays
// that once per call; a daemon serving a burst of DELs would pay it 32 times in a row on its one
// thread. The reaper coalesces: each deletion marks the link with a group no one else uses (a
// cheap RTM_NEWLINK) and all links marked until the next turn of the event loop are deleted by one
// RTM_DELLINK for the group — one wait for the lot. A link left in the group by a crash between
// mark and delete is deleted by the next flush, which is what its DEL wanted anyway.
import { linkDelGroup, linkSet } from '@podnet/core/netlink';
import type { NetlinkConn } from '@podnet/core/netlink';

/** The link group podnet's reaper deletes (u32; "pndr"): reserved for this purpose only. */
export const REAP_GROUP = 0x706e6472;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export class LinkReaper {
  #pending: Waiter[] = [];
  #scheduled = false;
  /** Group deletions sent (for tests and metrics). */
  flushes = 0;

  /** `conn`: a long-lived netlink socket in the node's netns (the links' netns). */
  constructor(private readonly conn: NetlinkConn) {}

  /** Delete link `index`; resolves once it is gone. A link already gone is success. */
  delete(index: number): Promise<void> {
    try {
      this.conn.request(linkSet(index, { group: REAP_GROUP }));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENODEV') return Promise.resolve();
      return Promise.reject(err);
    }
    const done = new Promise<void>((resolve, reject) => this.#pending.push({ resolve, reject }));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
    return done;
  }

  #flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    this.flushes++;
    try {
      this.conn.request(linkDelGroup(REAP_GROUP));
    } catch (err) {
      // ENODEV: every marked link went away by itself (its netns died): done all the same.
      if ((err as { code?: unknown }).code !== 'ENODEV') {
        for (const w of batch) w.reject(err);
        return;
      }
    }
    for (const w of batch) w.resolve();
  }
}
