// Thick mode: podnetd serves its node's CNI calls on a unix socket (core/daemon's CniServer),
// running the very pod halves the executables embed — bridge, host-gw, vxlan and the IPAM — with
// three things a long-lived process does better than one process per call:
//   - IPAM stores held open (HeldStores: the store lock is held for as long as podnetd serves,
//     so there is one writer, and a call does not pay for LevelDB's open),
//   - veth deletions coalesced by the link reaper (one kernel wait for a burst of DELs),
//   - nftables through libnftables in-process (no `nft` process per call) when the library loads.
// Independent of the lease machinery: `podnetd serve-cni` runs it alone for a single-node bridge
// network, `podnetd run --cni-socket` beside the agent.
import type { BridgePodHalfOptions, NftRunner } from '@podnet/backend-bridge';
import { LinkReaper, createBridgePodHalf, deleteGroupInChild, nftLibrary } from '@podnet/backend-bridge';
import { createHostGwPodHalf } from '@podnet/backend-host-gw';
import { createVxlanPodHalf } from '@podnet/backend-vxlan';
import type { Plugin } from '@podnet/core/cni';
import { CniServer } from '@podnet/core/daemon';
import type { CniServerStats } from '@podnet/core/daemon';
import { HeldStores } from '@podnet/core/ipam';
import { createIpamPlugin, flockStoreLock } from '@podnet/core/ipam-plugin';
import { NetlinkSocket } from '@podnet/core/netlink';
import type { Logger } from './logger.js';

export interface CniServiceOptions {
  socket: string;
  log: Logger;
  /** Peer uids allowed (default root only). */
  allowedUids?: readonly number[];
}

export class CniService {
  private constructor(
    private readonly server: CniServer,
    private readonly stores: HeldStores,
    private readonly conn: NetlinkSocket,
    readonly nftInProcess: boolean,
  ) {}

  static async start(options: CniServiceOptions): Promise<CniService> {
    const stores = new HeldStores({ lock: flockStoreLock });
    const conn = NetlinkSocket.open({});
    const nft: NftRunner | undefined = nftLibrary();
    const shared: BridgePodHalfOptions = {
      builtinIpam: createIpamPlugin({ provider: stores }),
      // The kernel's wait for a deletion happens in an `ip` child, not on the thread serving calls.
      linkReaper: new LinkReaper(conn, { deleteGroup: deleteGroupInChild() }),
      ...(nft ? { nft } : {}),
    };
    const plugins: Record<string, Plugin> = {
      bridge: createBridgePodHalf(shared),
      'host-gw': createHostGwPodHalf(shared),
      vxlan: createVxlanPodHalf(shared),
      ipam: shared.builtinIpam as Plugin,
    };
    const log = options.log.child({ service: 'cni' });
    try {
      const server = await CniServer.start({
        socket: options.socket,
        plugins,
        log: (level, message, fields) => log[level](fields ?? {}, message),
        ...(options.allowedUids ? { allowedUids: options.allowedUids } : {}),
      });
      log.info({ nft: nft ? 'libnftables' : 'nft binary' }, 'thick mode on');
      return new CniService(server, stores, conn, nft !== undefined);
    } catch (error) {
      conn.close();
      await stores.close();
      throw error;
    }
  }

  get stats(): CniServerStats {
    return this.server.stats;
  }

  /** Stop serving (calls in flight finish), then release the stores and their locks. */
  async close(): Promise<void> {
    await this.server.close();
    await this.stores.close();
    this.conn.close();
  }
}
