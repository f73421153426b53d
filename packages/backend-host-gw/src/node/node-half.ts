// The host-gw node half, long-lived in podnetd: each reconcile dumps the underlay link's
// addresses, computes the peer routes (routes.ts), and lets core's reconcileRoutes make the
// kernel's routes of our rtm_protocol match them — one address dump, one route dump, in-memory
// maps, and one netlink batch for whatever changed (nothing at steady state).
import type { NodeEnvironment, NodeHalf, NodeHalfFactory, NodeLease, NodeReconcileReport } from '@podnet/core/backend';
import { RT_TABLE_MAIN, listAddresses, routeWhat } from '@podnet/core/netlink';
import { RouteReconcileMemo, reconcileRoutes } from '@podnet/core/route';
import { NodeSocket, SkipLog } from './node-socket.js';
import { ParseCache, peerRoutes } from './routes.js';

/** rtm_protocol values below this are the kernel's own (unspec, redirect, kernel, boot, static). */
const FIRST_OWNER_PROTOCOL = 5;

export class HostGwNodeHalf implements NodeHalf {
  readonly #env: NodeEnvironment;
  readonly #socket: NodeSocket;
  /** Each skipped peer is logged when the problem starts and when it ends. */
  readonly #skips: SkipLog;
  readonly #parsed = new ParseCache();
  /** The last no-change pass: a periodic pass that finds the kernel as it was plans nothing. */
  readonly #routes = new RouteReconcileMemo();

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
    this.#socket = new NodeSocket(env.netns);
    this.#skips = new SkipLog('host-gw', env.log);
  }

  async reconcile(local: NodeLease, peers: readonly NodeLease[]): Promise<NodeReconcileReport> {
    const { underlay, routeProtocol } = this.#env;
    return this.#socket.with((sock) => {
      const addresses = listAddresses(sock, { index: underlay.index }).filter((a) => !a.dadFailed);
      const { routes, skipped } = peerRoutes(local, peers, { name: underlay.name, index: underlay.index, addresses }, this.#parsed);
      this.#skips.update(skipped);
      const result = reconcileRoutes(sock, routes, { protocol: routeProtocol, table: RT_TABLE_MAIN }, this.#routes);
      const errors = [
        ...result.failed.map((f) => f.error.message),
        ...result.conflicts.map((c) => `${routeWhat(c.want)}: the kernel has ${routeWhat(c.have)} there (protocol ${c.have.protocol}, not ours); left alone`),
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
    this.#socket.with((sock) => {
      // Every route of our protocol, in any table: desired = nothing.
      const result = reconcileRoutes(sock, [], { protocol: routeProtocol });
      // A route the kernel dropped between dump and delete (its link went away) is gone anyway.
      const failed = result.failed.filter((f) => f.error.code !== 'ESRCH');
      if (failed.length > 0) throw new Error(`host-gw teardown: ${failed.length} route(s) not deleted: ${failed.map((f) => f.error.message).join('; ')}`);
      this.#env.log('info', 'host-gw: routes removed', { deleted: result.deleted.length });
    });
  }

  close(): void {
    this.#socket.close();
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
