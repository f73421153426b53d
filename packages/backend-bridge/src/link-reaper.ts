// Deleting a veth makes the kernel wait (~15–20 ms here) for the network stack to let go of it,
// inside the sendmsg of the calling thread. A process that deletes one pod's veth per call pays
// that once per call; a daemon serving a burst of DELs would pay it 32 times in a row on its one
// thread. The reaper coalesces: each deletion marks the link with a group no one else uses (a
// cheap RTM_NEWLINK) and the links marked so far are deleted by one RTM_DELLINK for the group —
// one wait for the lot. A link left in the group by a crash between mark and delete is deleted by
// the next flush, which is what its DEL wanted anyway.
//
// Where the wait happens is the deleter's choice: by default the reaper's own socket (the calling
// thread waits, and the next turn of the event loop starts the next flush); a daemon passes
// `deleteGroupInChild`, so the wait happens in an `ip` process while its thread goes on serving —
// marks that arrive meanwhile go into the next flush, started as soon as this one ends.
import { spawn } from 'node:child_process';
import { linkDelGroup, linkSet } from '@podnet/core/netlink';
import type { NetlinkConn } from '@podnet/core/netlink';

/** The link group podnet's reaper deletes (u32; "pndr"): reserved for this purpose only. */
export const REAP_GROUP = 0x706e6472;

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Deletes every link of `group` in the reaper's netns; an empty group is success. */
export type GroupDeleter = (group: number) => Promise<void>;

export interface LinkReaperOptions {
  deleteGroup?: GroupDeleter;
}

/**
 * `ip link delete group G` in a child process, which inherits the caller's netns (`ipArgs` such
 * as `['-n', name]` point it elsewhere: tests).
 */
export const deleteGroupInChild =
  (ipArgs: readonly string[] = []): GroupDeleter =>
  (group) =>
    new Promise((resolve, reject) => {
      const child = spawn('ip', [...ipArgs, 'link', 'delete', 'group', String(group)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        // "No such device": every marked link went away by itself (its netns died) — done anyway.
        if (code === 0 || /No such device|Cannot find device/.test(stderr)) resolve();
        else reject(new Error(`ip link delete group ${group} failed (exit ${code}): ${stderr.trim()}`));
      });
    });

export class LinkReaper {
  #pending: Waiter[] = [];
  #scheduled = false;
  #flushing = false;
  readonly #deleteGroup: GroupDeleter;
  /** Group deletions sent (for tests and metrics). */
  flushes = 0;

  /** `conn`: a long-lived netlink socket in the node's netns (the links' netns). */
  constructor(
    private readonly conn: NetlinkConn,
    options: LinkReaperOptions = {},
  ) {
    this.#deleteGroup = options.deleteGroup ?? ((group) => this.#deleteOnSocket(group));
  }

  /** Delete link `index`; resolves once it is gone. A link already gone is success. */
  delete(index: number): Promise<void> {
    try {
      this.conn.request(linkSet(index, { group: REAP_GROUP }));
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENODEV') return Promise.resolve();
      return Promise.reject(err);
    }
    const done = new Promise<void>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#schedule();
    return done;
  }

  #schedule(): void {
    if (this.#scheduled || this.#flushing) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    this.flushes++;
    this.#flushing = true;
    try {
      await this.#deleteGroup(REAP_GROUP);
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.#flushing = false;
      if (this.#pending.length > 0) this.#schedule();
    }
  }

  async #deleteOnSocket(group: number): Promise<void> {
    try {
      this.conn.request(linkDelGroup(group));
    } catch (err) {
      // ENODEV: every marked link went away by itself (its netns died): done all the same.
      if ((err as { code?: unknown }).code !== 'ENODEV') throw err;
    }
  }
}
