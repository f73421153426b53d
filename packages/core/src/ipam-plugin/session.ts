// A store session opened ahead of its operation, for backends that run the IPAM in-process: the
// addon load, the flock wait and LevelDB's open (log replay, a new manifest, fsyncs: milliseconds)
// run on libuv's thread pool while the backend does its synchronous netlink work, instead of
// before or after it. The operations themselves keep their order: DEL still releases only after
// the backend removed the link (reference plugins#702).
//
// The session holds the store's lock from `dispatched` until `close`: keep what runs in between to
// the work it overlaps.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { CmdArgs } from '../cni/plugin.js';
import type { Result } from '../cni/types.js';
import { IpamStore, parseIpamConfig, parseStoreLocation, readResolvConf } from '../ipam/index.js';
import type { IpamConfig, IpamDns, Owner, StoreLocation, StoreUnlock } from '../ipam/index.js';
import { ipamDel, toAddResult } from './plugin.js';
import { flockStoreLock } from './store-lock.js';

/** What the session is for: ADD creates the store and may allocate; DEL opens only an existing store. */
export type IpamSessionVerb = 'ADD' | 'DEL';

export interface IpamSession {
  /**
   * Resolves once only thread-pool work remains of the open (LevelDB's open has been handed to the
   * addon), once the store's lock turned out to be held by another process (the wait continues in
   * the background), or once the open has settled, whichever comes first; never rejects. Await it
   * before blocking the main thread, or the open waits for the blocking call instead of overlapping it.
   */
  readonly dispatched: Promise<void>;
  /** ADD's allocation in this session (as `ipamAdd`); fails with the open's error if the open failed. */
  allocate(): Promise<Result>;
  /**
   * DEL's release (as `ipamDel`): in this session's store while it is open. After `close`, or in an
   * ADD session whose open failed (the release after a failed ADD), in a store session of its own.
   * A DEL session whose open failed fails with the open's error (codes 11, 5, 7 as `ipamDel`).
   */
  release(): Promise<void>;
  /** Closes the store and releases the lock; the same promise on every call. Never fails for a failed open. */
  close(): Promise<void>;
}

interface Opened {
  store: IpamStore;
  config: IpamConfig | undefined;
  dns: IpamDns | undefined;
}

function ownerOf(args: CmdArgs): Owner {
  return { containerId: args.containerId, ifname: args.ifname };
}

async function storeExists(location: StoreLocation): Promise<boolean> {
  try {
    await access(join(location.path, 'CURRENT'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts opening the built-in IPAM's store for one ADD or DEL call; returns at once. Errors (config,
 * busy, I/O) surface from `allocate` / `release`, with the codes the plugin's own calls give.
 */
export function openIpamSession(args: CmdArgs, verb: IpamSessionVerb): IpamSession {
  let markDispatched!: () => void;
  const dispatched = new Promise<void>((resolve) => (markDispatched = resolve));
  const opening = async (): Promise<Opened | undefined> => {
    // The same parsing as ipamAdd / ipamDel: ADD validates the whole config; DEL reads only the
    // store's location and never creates a store.
    const config = verb === 'ADD' ? parseIpamConfig(args.config, args.args) : undefined;
    const location = config ?? parseStoreLocation(args.config);
    // resolv.conf before the lock, as `allocate` does: a bad path fails without touching the store.
    const dns = config?.resolvConf === undefined ? undefined : await readResolvConf(config.resolvConf);
    if (config === undefined && !(await storeExists(location))) return undefined;
    const store = await IpamStore.open(location.path, { lockTimeoutMs: location.lockTimeoutMs, create: true, lock: contendedLock, opening: markDispatched });
    return { store, config, dns };
  };
  // A store another process holds must not hold up the caller's kernel work: with a busy lock
  // `dispatched` resolves at once and the wait goes on whenever the event loop runs. Otherwise
  // concurrent calls would queue their (parallel-capable) netlink work behind each other's store
  // sessions.
  const contendedLock = async (storeDir: string, timeoutMs: number): Promise<StoreUnlock | undefined> => {
    const start = Date.now();
    const unlock = await flockStoreLock(storeDir, 0);
    if (unlock !== undefined) return unlock;
    markDispatched();
    return flockStoreLock(storeDir, Math.max(0, timeoutMs - (Date.now() - start)));
  };
  const opened = opening();
  opened.then(markDispatched, markDispatched);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= opened.then(
      (o) => o?.store.close(),
      () => undefined,
    );
    return closing;
  };

  return {
    dispatched,
    async allocate(): Promise<Result> {
      const o = await opened;
      if (o?.config === undefined || closing !== undefined) throw new Error(`internal: IPAM session for ${verb} cannot allocate${closing ? ' after close' : ''}`);
      const addresses = await o.store.allocate(o.config, ownerOf(args));
      return toAddResult(args, {
        ips: addresses.map((a) => ({ address: a.address, gateway: a.gateway })),
        routes: o.config.routes.map((r) => ({ ...r })),
        ...(o.dns !== undefined ? { dns: o.dns } : {}),
      });
    },
    async release(): Promise<void> {
      let o: Opened | undefined;
      try {
        o = await opened;
      } catch (err) {
        if (verb === 'DEL') throw err;
        return ipamDel(args);
      }
      if (closing !== undefined) {
        // Whatever became of the close, the lock is free again (closeSession unlocks in finally).
        await closing.catch(() => undefined);
        return ipamDel(args);
      }
      const released = o === undefined ? [] : await o.store.release(ownerOf(args));
      args.log?.debug(`ipam: released ${released.length > 0 ? released.join(', ') : 'nothing'} for ${args.containerId}/${args.ifname}`);
    },
    close,
  };
}
