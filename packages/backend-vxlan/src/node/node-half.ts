// The VXLAN node half, long-lived in podnetd. Every reconcile (event or periodic) does all of it,
// so healing needs no separate path:
//   1. each overlay device (one per family of this node's subnets) is made to match its spec —
//      created when deleted, replaced when its settings differ, raised when down;
//   2. the plan (plan.ts): per peer subnet a neighbour, an FDB entry and a route on the device
//      (or a host-gw route with DirectRouting);
//   3. one dump each of neighbours and FDB entries, diffed: puts of neighbours then FDB entries in
//      one batch, then core's reconcileRoutes (adds and stale deletes of our rtm_protocol), then
//      deletes of FDB entries then neighbours nobody wants — so a route never points at a VTEP
//      the kernel has no MAC for, and nothing is removed before the route using it;
//   4. the underlay filter (nft) with every peer lease's node addresses.
// A device recreated in step 1 is empty; step 3 then finds every entry missing and replays them
// all in the same pass (flannel recreates the device and never replays its peers).
import { nftBinary } from '@podnet/backend-bridge';
import { NodeSocket, SkipLog } from '@podnet/backend-host-gw';
import type { NftRunner } from '@podnet/backend-bridge';
import type { NodeEnvironment, NodeHalf, NodeHalfFactory, NodeLease, NodeReconcileReport } from '@podnet/core/backend';
import {
  type NetlinkSocket,
  RT_TABLE_MAIN,
  fdbDel,
  fdbReplace,
  formatIp,
  listAddresses,
  listFdb,
  listNeighbours,
  neighDel,
  neighReplace,
  parseIp,
  routeWhat,
  tryParseCidr,
} from '@podnet/core/netlink';
import type { NlRequest } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { reconcileRoutes } from '@podnet/core/route';
import { overlayMtu, parseVxlanOptions } from '../config/options.js';
import type { VxlanOptions } from '../config/options.js';
import { UnderlayFilter } from '../filter/filter.js';
import { LEASE_KEYS, deriveVtepMac, leaseMac } from '../vtep/mac.js';
import { DEVICE_NAMES, ensureDevice, removeDevice } from './device.js';
import type { DeviceSpec } from './device.js';
import { diffFdb, diffNeighbours } from './entries.js';
import { PlanCaches, knownNodeAddresses, planPeers } from './plan.js';
import type { PlanDevice } from './plan.js';

const FIRST_OWNER_PROTOCOL = 5;
// 5,000 peers are 15,000 entries: a dump and a burst of acks that the default buffer can overrun.
const RECEIVE_BUFFER = 8 * 1024 * 1024;

export interface VxlanNodeHalfDeps {
  /** The nft runner (default: the nft binary, started in env.netns). */
  nft?: NftRunner;
  /** How often an unchanged filter is re-applied (default 5 s). */
  filterRefreshMs?: number;
}

export class VxlanNodeHalf implements NodeHalf {
  readonly #env: NodeEnvironment;
  readonly options: VxlanOptions;
  readonly #filter: UnderlayFilter;
  readonly #caches = new PlanCaches();
  readonly #socket: NodeSocket;
  readonly #skips: SkipLog;

  constructor(env: NodeEnvironment, deps: VxlanNodeHalfDeps = {}) {
    if (!Number.isInteger(env.underlay.index) || env.underlay.index <= 0) {
      throw new TypeError(`vxlan: invalid underlay.index ${env.underlay.index} for "${env.underlay.name}": expected the link's ifindex (a positive integer)`);
    }
    if (!Number.isInteger(env.routeProtocol) || env.routeProtocol < FIRST_OWNER_PROTOCOL || env.routeProtocol > 255) {
      throw new TypeError(`vxlan: invalid routeProtocol ${env.routeProtocol}: expected an rtm_protocol from ${FIRST_OWNER_PROTOCOL} to 255`);
    }
    this.#env = env;
    this.#socket = new NodeSocket(env.netns, RECEIVE_BUFFER);
    this.#skips = new SkipLog('vxlan', env.log);
    this.options = parseVxlanOptions(env.backend);
    // Refuse an MTU the underlay cannot carry now, not at the first reconcile.
    overlayMtu(env.underlay.mtu, 4, this.options);
    this.#filter = new UnderlayFilter(deps.nft ?? nftIn(env.netns), { ...(deps.filterRefreshMs !== undefined ? { refreshMs: deps.filterRefreshMs } : {}) });
  }

  async reconcile(local: NodeLease, peers: readonly NodeLease[]): Promise<NodeReconcileReport> {
    const errors: string[] = [];
    const known = knownNodeAddresses(peers.filter((p) => p.node !== local.node));
    const report = this.#socket.with((sock) => this.#kernel(sock, local, peers, errors));
    try {
      if (await this.#filter.sync(this.options.port, known))
        this.#env.log('debug', 'vxlan: underlay filter applied', { nodes4: known[4].length, nodes6: known[6].length });
    } catch (err) {
      // Pod traffic still flows; the next reconcile retries.
      errors.push(`underlay filter (nft table inet podnet-vxlan): ${(err as Error).message}`);
    }
    report.errors.push(...errors.filter((e) => !report.errors.includes(e)));
    return report;
  }

  #kernel(sock: NetlinkSocket, local: NodeLease, peers: readonly NodeLease[], errors: string[]): NodeReconcileReport {
    const { underlay, routeProtocol } = this.#env;
    let changes = 0;
    const devices: Partial<Record<4 | 6, PlanDevice>> = {};
    const notHere: Array<{ node: string; reason: string }> = [];
    for (const spec of this.#deviceSpecs(local, errors, notHere)) {
      try {
        const result = ensureDevice(sock, spec);
        devices[spec.family] = { index: result.index };
        if (result.actions.length > 0) {
          changes += result.actions.length;
          this.#env.log(
            result.actions[0]!.startsWith('replaced') || result.actions[0] === 'created' ? 'info' : 'warn',
            `vxlan: device ${spec.name} ${result.actions.join('; ')}`,
            {
              device: spec.name,
              vni: spec.vni,
              local: spec.local,
              mac: spec.mac,
              mtu: spec.mtu,
            },
          );
        }
      } catch (err) {
        errors.push(`device ${spec.name}: ${(err as Error).message}`);
      }
    }
    // A family this node no longer has (its IPv6 subnet went away): its device goes too.
    for (const family of [4, 6] as const) {
      if (devices[family] || errors.some((e) => e.startsWith(`device ${DEVICE_NAMES[family]}:`))) continue;
      if (removeDevice(sock, DEVICE_NAMES[family])) {
        changes++;
        this.#env.log('info', `vxlan: device ${DEVICE_NAMES[family]} removed (no IPv${family} overlay on this node)`);
      }
    }

    const direct = this.options.directRouting
      ? { name: underlay.name, index: underlay.index, addresses: listAddresses(sock, { index: underlay.index }).filter((a) => !a.dadFailed) }
      : undefined;
    const plan = planPeers(local, peers, { vni: this.options.vni, devices, ...(direct ? { direct } : {}) }, this.#caches);
    plan.skipped.unshift(...notHere);
    this.#skips.update(plan.skipped);

    const indexes = new Set(Object.values(devices).map((d) => d.index));
    const neigh = diffNeighbours(indexes.size > 0 ? listNeighbours(sock) : [], plan.neighbours, indexes);
    const fdb = diffFdb(indexes.size > 0 ? listFdb(sock) : [], plan.fdb, indexes);

    // Neighbour before FDB before route, per peer: all neighbours and FDB entries first.
    const puts: NlRequest[] = [...neigh.put.map((n) => neighReplace(n)), ...fdb.put.map((e) => fdbReplace(e))];
    changes += this.#settle(sock, puts, errors);

    const routes = reconcileRoutes(sock, plan.routes, { protocol: routeProtocol, table: RT_TABLE_MAIN });
    changes += routes.added.length + routes.replaced.length + routes.deleted.length;
    errors.push(
      ...routes.failed.map((f) => f.error.message),
      ...routes.conflicts.map((c) => `${routeWhat(c.want)}: the kernel has ${routeWhat(c.have)} there (protocol ${c.have.protocol}, not ours); left alone`),
    );

    // Removal undoes all three, in reverse: the stale routes went above, now FDB, then neighbours.
    const dels: NlRequest[] = [
      ...fdb.del.map((e) => fdbDel({ index: e.index, mac: e.mac, ...(e.dst !== undefined ? { dst: e.dst } : {}) })),
      ...neigh.del.map((n) => neighDel({ index: n.index, address: n.address })),
    ];
    changes += this.#settle(sock, dels, errors, true);

    const report: NodeReconcileReport = {
      programmed: plan.tunneled + plan.direct - routes.conflicts.length,
      changes,
      skipped: plan.skipped,
      errors,
    };
    if (changes > 0 || errors.length > 0) {
      this.#env.log(errors.length > 0 ? 'warn' : 'info', 'vxlan: reconciled', {
        tunneled: plan.tunneled,
        direct: plan.direct,
        neighbours: { put: neigh.put.length, deleted: neigh.del.length },
        fdb: { put: fdb.put.length, deleted: fdb.del.length },
        routes: { added: routes.added.length, replaced: routes.replaced.length, deleted: routes.deleted.length },
        errors,
      });
    }
    return report;
  }

  /**
   * The overlay devices this node's lease calls for, one per family of its subnets. A family
   * without an underlay address of its own is reported as skipped for this node (logged when it
   * starts and when it ends, not counted as an error at every pass).
   */
  #deviceSpecs(local: NodeLease, errors: string[], skipped: Array<{ node: string; reason: string }>): DeviceSpec[] {
    const { underlay } = this.#env;
    const o = this.options;
    const specs: DeviceSpec[] = [];
    for (const subnet of local.subnets) {
      const cidr = tryParseCidr(subnet);
      if (!cidr) {
        errors.push(`this node's subnet ${JSON.stringify(subnet)} is not a CIDR`);
        continue;
      }
      const family = cidr.family;
      // The VTEP is the node address the lease publishes for the family (what peers send to).
      const localIp = [...local.nodeIps, ...underlay.addresses].map((ip) => tryParseCidr(ip)).find((c) => c?.family === family)?.address;
      if (!localIp) {
        skipped.push({
          node: local.node,
          reason: `no IPv${family} overlay on this node: subnet ${subnet} but no IPv${family} underlay address for the VTEP (the IPv${family} overlay runs over an IPv${family} underlay)`,
        });
        continue;
      }
      let mtu: number;
      try {
        mtu = overlayMtu(underlay.mtu, family, o);
      } catch (err) {
        errors.push((err as Error).message);
        mtu = overlayMtu(underlay.mtu, family, {});
      }
      specs.push({
        name: DEVICE_NAMES[family],
        family,
        vni: o.vni,
        port: o.port,
        local: localIp,
        dev: underlay.index,
        mac: leaseMac(local.node, local.backendData, family),
        mtu,
        learning: o.learning,
        gbp: o.gbp,
        address: networkAddress(cidr.address, cidr.prefixLength),
      });
    }
    return specs;
  }

  async teardown(): Promise<void> {
    const { routeProtocol } = this.#env;
    this.#socket.with((sock) => {
      for (const name of Object.values(DEVICE_NAMES)) removeDevice(sock, name);
      // Direct routes (DirectRouting) and any tunnel route the device removal left: all of ours.
      const result = reconcileRoutes(sock, [], { protocol: routeProtocol });
      const failed = result.failed.filter((f) => f.error.code !== 'ESRCH');
      if (failed.length > 0) throw new Error(`vxlan teardown: ${failed.length} route(s) not deleted: ${failed.map((f) => f.error.message).join('; ')}`);
    });
    await this.#filter.remove();
    this.#env.log('info', 'vxlan: devices, routes and the underlay filter removed');
  }

  /** VXLAN packets dropped for coming from an address no peer lease names (undefined: no table yet). */
  strangersDropped(): Promise<number | undefined> {
    return this.#filter.strangersDropped();
  }

  close(): void {
    this.#socket.close();
  }

  /** Sends `reqs` in one batch; failures become report errors (a delete of a vanished entry is none). */
  #settle(sock: NetlinkSocket, reqs: NlRequest[], errors: string[], deleting = false): number {
    if (reqs.length === 0) return 0;
    const results = sock.batchSettled(reqs);
    let done = 0;
    results.forEach((e) => {
      if (!e) done++;
      else if (!(deleting && e.code === 'ENOENT')) errors.push(e.message);
    });
    return done;
  }
}

/** nft started inside the node's netns (spawn forks on the calling thread, inside NetNS.run). */
function nftIn(netns: string | undefined): NftRunner {
  if (!netns) return nftBinary();
  return nftBinary((fn) => {
    const ns = NetNS.open(netns);
    try {
      return ns.run(fn);
    } finally {
      ns.close();
    }
  });
}

/** The network address of `address/length` (the VTEP address: 10.244.3.0 for 10.244.3.0/24). */
function networkAddress(address: string, length: number): string {
  const bytes = parseIp(address);
  for (let bit = length; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return formatIp(bytes);
}

/** The VXLAN factory podnetd selects for `Backend.Type: "vxlan"`. */
export const vxlanNodeHalf: NodeHalfFactory = {
  podMtu: (underlayMtu, underlayFamily, backend) => overlayMtu(underlayMtu, underlayFamily, parseVxlanOptions(backend)),
  leaseData: (env) => {
    const node = env.node ?? env.underlay.addresses[0] ?? env.underlay.name;
    const o = parseVxlanOptions(env.backend);
    return { [LEASE_KEYS.vni]: o.vni, [LEASE_KEYS.mac[4]]: deriveVtepMac(node, 4), [LEASE_KEYS.mac[6]]: deriveVtepMac(node, 6) };
  },
  create: (env) => new VxlanNodeHalf(env),
};
