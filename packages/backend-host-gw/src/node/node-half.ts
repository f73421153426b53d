// The host-gw node half, long-lived in podnetd: each reconcile dumps the underlay link's
// addresses, computes the peer routes (routes.ts), and lets core's reconcileRoutes make the
// kernel's routes of our rtm_protocol match them — one address dump, one route dump, in-memory
// maps, and one netlink batch for whatever changed (nothing at steady state).
import type { NodeEnvironment, NodeHalf, NodeHalfFactory, NodeLease, NodeReconcileReport } from '@podnet/core/backend';
import { NetlinkSocket, RT_TABLE_MAIN, listAddresses, routeWhat } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { reconcileRoutes } from '@podnet/core/route';
import { ParseCache, peerRoutes } from './routes.js';
import type { Skipped } from './routes.js';

/** rtm_protocol values below this are the kernel's own (unspec, redirect, kernel, boot, static). */
const FIRST_OWNER_PROTOCOL = 5;

// A reconcile at 5,000 peers acks up to 5,000 changes; the batch is chunked, but a roomy
// receive buffer keeps a burst of acks (and a large dump) from ever overrunning.
const RECEIVE_BUFFER = 4 * 1024 * 1024;

export class HostGwNodeHalf implements NodeHalf {
  readonly #env: NodeEnvironment;
  #socket: NetlinkSocket | undefined;
  /** What was last reported as skipped, so each problem is logged when it starts and when it ends. */
  #skipped = new Map<string, string>();
  readonly #parsed = new ParseCache();

  constructor(env: NodeEnvironment) {
    const { underlay, routeProtocol } = env;
    if (!Number.isInteger(underlay.index) || underlay.index <= 0) {
      throw new TypeError(`host-gw: invalid underlay.index ${underlay.index} for "${underlay.name}": expected the link's ifindex (a positive integer)`);
    }
    if (!Number.isInteger(routeProtocol) || routeProtocol < FIRST_OWNER_PROTOCOL || routeProtocol > 255) {
      throw new TypeError(
        `host-gw: invalid routeProtocol ${routeProtocol}: expected an rtm_protocol from ${FIRST_OWNER_PROTOCOL} to 255 (0–4 are the kernel's; routes of ours get deleted)`,
      );
    }
    this.#env = env;
  }

  async reconcile(local: NodeLease, peers: readonly NodeLease[]): Promise<NodeReconcileReport> {
    const { underlay, routeProtocol } = this.#env;
    return this.#withSocket((sock) => {
      const addresses = listAddresses(sock, { index: underlay.index }).filter((a) => !a.dadFailed);
      const { routes, skipped } = peerRoutes(local, peers, { name: underlay.name, index: underlay.index, addresses }, this.#parsed);
      this.#logSkipped(skipped);
      const result = reconcileRoutes(sock, routes, { protocol: routeProtocol, table: RT_TABLE_MAIN });
      const errors = [
        ...result.failed.map((f) => f.error.message),
        ...result.conflicts.map(
          (c) => `${routeWhat(c.want)}: the kernel has ${routeWhat(c.have)} there (protocol ${c.have.protocol}, not ours); left alone`,
        ),
      ];
      const changes = result.added.length + result.replaced.length + result.deleted.length;
      // A failed change is an add/replace when it names a wanted route (destination, next hop and
      // device): a stale route of ours being deleted never says exactly that, as the kernel
      // keeps one route per destination, next hop and device.
      const wanted = result.failed.length > 0 ? new Set(routes.map(routeId)) : undefined;
      const failedWanted = result.failed.filter((f) => wanted?.has(routeId(f.route))).length;
      const report: NodeReconcileReport = {
        programmed: routes.length - result.conflicts.length - failedWanted,
        changes,
        skipped,
        errors,
      };
      if (changes > 0 || errors.length > 0) {
        this.#env.log(errors.length > 0 ? 'warn' : 'info', 'host-gw: routes reconciled', {
          added: result.added.length,
          replaced: result.replaced.length,
          deleted: result.deleted.length,
          programmed: report.programmed,
          errors,
        });
      }
      return report;
    });
  }

  async teardown(): Promise<void> {
    const { routeProtocol } = this.#env;
    this.#withSocket((sock) => {
      // Every route of our protocol, in any table: desired = nothing.
      const result = reconcileRoutes(sock, [], { protocol: routeProtocol });
      // A route the kernel dropped between dump and delete (its link went away) is gone anyway.
      const failed = result.failed.filter((f) => f.error.code !== 'ESRCH');
      if (failed.length > 0) throw new Error(`host-gw teardown: ${failed.length} route(s) not deleted: ${failed.map((f) => f.error.message).join('; ')}`);
      this.#env.log('info', 'host-gw: routes removed', { deleted: result.deleted.length });
    });
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }

  /**
   * Runs `fn` on the socket, opened on first use in the node's netns. Any failure drops the
   * socket (a dump cut short can leave replies queued), so the next call starts on a fresh one.
   */
  #withSocket<T>(fn: (sock: NetlinkSocket) => T): T {
    try {
      return fn(this.#open());
    } catch (err) {
      this.close();
      throw err;
    }
  }

  #open(): NetlinkSocket {
    if (this.#socket) return this.#socket;
    const { netns } = this.#env;
    if (!netns) {
      this.#socket = NetlinkSocket.open({ receiveBufferSize: RECEIVE_BUFFER });
      return this.#socket;
    }
    // The socket keeps the netns it was opened in; the handle is needed only to open it.
    const ns = NetNS.open(netns);
    try {
      this.#socket = NetlinkSocket.open({ netns: ns, receiveBufferSize: RECEIVE_BUFFER });
    } finally {
      ns.close();
    }
    return this.#socket;
  }

  #logSkipped(skipped: readonly Skipped[]): void {
    const now = new Map(skipped.map((s) => [`${s.node}\0${s.reason}`, s.node]));
    for (const [key, node] of now) {
      if (!this.#skipped.has(key)) this.#env.log('warn', `host-gw: peer ${node} skipped`, { node, reason: key.slice(node.length + 1) });
    }
    for (const [key, node] of this.#skipped) {
      if (!now.has(key)) this.#env.log('info', `host-gw: peer ${node} no longer skipped`, { node, was: key.slice(node.length + 1) });
    }
    this.#skipped = now;
  }
}

function routeId(r: { dst: string; dstLen: number; gateway?: string; oif?: number }): string {
  return `${r.dst}/${r.dstLen}|${r.gateway ?? ''}|${r.oif ?? ''}`;
}

/** host-gw's node half: pods get the underlay's MTU (no encapsulation); nothing to publish. */
export const hostGwNodeHalf: NodeHalfFactory = {
  podMtu: (underlayMtu) => underlayMtu,
  create: (env) => new HostGwNodeHalf(env),
};
