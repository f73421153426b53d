// One call at a time per attachment (network, containerID, ifname), across processes.
//
// The spec forbids concurrent calls for one container, but runtimes have bugs and timeouts, and
// without this an ADD racing a DEL of the same container could leave a pod on an address the store
// had released (ADD allocates; DEL finds no veth yet and releases; ADD then creates the veth with
// the released address) — a duplicate pod IP later. ADD, CHECK and DEL hold this lock for the
// whole call, so any interleaving ends in the state of the last call to run.
//
// The lock files live on tmpfs, one directory per network, one file per attachment named by its
// digest, and exist only while a call runs: every call removes its file (and the network's
// directory once empty) as it releases the lock — safe because an acquirer always checks that the
// file it locked is still the one the path names (core/lock). GC also removes any a crashed call
// left. Cost: a handful of system calls per call.
import { CniError, ErrorCode } from '@podnet/core/cni';
import { lockFile, tryLockFile } from '@podnet/core/lock';
import type { HeldLock } from '@podnet/core/lock';
import { readdirSync } from 'node:fs';
import { attachmentDigest, networkDigest } from './host-veth.js';
import type { VethOwner } from './host-veth.js';

/** Default directory of the attachment locks. */
export const DEFAULT_LOCK_DIR = '/run/podnet/attachments';
/** How long a call waits for another call of the same attachment before code 11. */
const WAIT_MS = 20_000;

function networkDir(lockDir: string, network: string): string {
  return `${lockDir}/${networkDigest(network)}`;
}

/** How every call releases the lock: its file and, when empty, the network's directory go. */
export const RELEASE = { remove: true, pruneParent: true } as const;

/** Hold the attachment's lock; code 11 when another call kept it for the whole wait. */
export async function lockAttachment(lockDir: string, owner: VethOwner): Promise<HeldLock> {
  const path = `${networkDir(lockDir, owner.network)}/${attachmentDigest(owner)}`;
  let lock: HeldLock | undefined;
  try {
    lock = await lockFile(path, { timeoutMs: WAIT_MS, createParents: true });
  } catch (err) {
    throw new CniError(ErrorCode.IoFailure, `cannot lock attachment ${owner.containerId}/${owner.ifname} (${path})`, (err as Error).message, { cause: err });
  }
  if (!lock) {
    throw new CniError(
      ErrorCode.TryAgainLater,
      `another call for container ${owner.containerId} interface ${owner.ifname} on network "${owner.network}" is still running`,
      `waited ${WAIT_MS / 1000} s for its lock ${path}`,
    );
  }
  return lock;
}

/** GC: remove the lock files of this network's attachments that are not in `keep` (digests); skips held ones. */
export function removeStaleAttachmentLocks(lockDir: string, network: string, keep: ReadonlySet<string>): void {
  const dir = networkDir(lockDir, network);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const name of names) {
    if (keep.has(name) || !/^[0-9a-f]{64}$/.test(name)) continue;
    tryLockFile(`${dir}/${name}`)?.release(RELEASE);
  }
}
