// `podnet-bridge repair --config <file>`: repair this network's IPAM store and record again every
// address a live pod of this network uses (see the repair section of this package's README).
//
// What the node really has: every host veth whose name and owner alias say it belongs to this
// network, and the addresses on its peer inside the pod's netns. The peer's netns is found
// exactly: the host veth's IFLA_LINK_NETNSID is the ID the node's netns gives it, and RTM_GETNSID
// on each candidate netns file (/run/netns/*, /var/run/netns/*, /proc/<pid>/ns/net, deduplicated
// by inode) gives that same ID for the right one only; interface indexes alone are not unique
// across namespaces. In the peer's netns, the interface with the veth's peer index must be a veth
// whose own peer index is the host veth's.
//
// A veth whose alias names its owner only by digest (long names) is matched against the owners
// the repaired store still knows; when the store lost that owner too, its addresses are recorded
// under a placeholder owner (core's PLACEHOLDER_PREFIX), which keeps them from being handed out.
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { NetConf } from '@podnet/core/cni';
import { managesAddress, parseIpamConfig, parseStoreLocation, PLACEHOLDER_PREFIX, repair } from '@podnet/core/ipam';
import type { IpamConfig, LiveAttachment, Owner, RepairReport } from '@podnet/core/ipam';
import {
  failed,
  flockStoreLock,
  loadNetworkConfig,
  processIo,
  RepairExit,
  reportJson,
  reportLines,
  UsageError,
  parseRepairArgs,
} from '@podnet/core/ipam-plugin';
import type { CommandIo } from '@podnet/core/ipam-plugin';
import { getLink, listAddresses, listLinks, NetlinkSocket, nsidOf, RT_SCOPE_LINK } from '@podnet/core/netlink';
import type { Link } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import type { BridgePodHalfOptions } from './context.js';
import { openCall } from './context.js';
import type { HostSide } from './host.js';
import { attachmentDigest, ownedByNetwork, parseOwnership } from './host-veth.js';
import { BUILTIN_IPAM_TYPE } from './ipam.js';

/** Where pod network namespaces can be found on a node. */
export const NETNS_DIRS: readonly string[] = ['/run/netns', '/var/run/netns'];

/** A live veth of this network whose pod addresses could not be read. */
export interface UnresolvedVeth {
  readonly veth: string;
  readonly owner: Owner;
  readonly reason: string;
}

export interface LivePods {
  readonly pods: LiveAttachment[];
  readonly unresolved: UnresolvedVeth[];
}

export interface BridgeRepairResult {
  readonly report: RepairReport;
  readonly pods: readonly LiveAttachment[];
  readonly unresolved: readonly UnresolvedVeth[];
}

/** Candidate netns files, one per namespace (the first path found for each inode). */
export function candidateNetnsFiles(dirs: readonly string[] = NETNS_DIRS): string[] {
  const paths: string[] = [];
  for (const dir of dirs) {
    try {
      for (const name of readdirSync(dir).sort()) paths.push(join(dir, name));
    } catch {
      // Absent on this node.
    }
  }
  try {
    for (const pid of readdirSync('/proc')) if (/^\d+$/.test(pid)) paths.push(`/proc/${pid}/ns/net`);
  } catch {
    // No /proc: only the named namespaces.
  }
  const seen = new Set<string>();
  const out: string[] = [];
  for (const path of paths) {
    try {
      const st = statSync(path);
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      out.push(path);
    } catch {
      // Gone meanwhile (a process exited), or not readable.
    }
  }
  return out;
}

/** Opens each candidate and keeps those the node's netns has an ID for: ID → open handle. */
function namespacesById(host: HostSide, wanted: ReadonlySet<number>, candidates: readonly string[]): Map<number, NetNS> {
  const found = new Map<number, NetNS>();
  for (const path of candidates) {
    if (found.size === wanted.size) break;
    let ns: NetNS;
    try {
      ns = NetNS.open(path);
    } catch {
      continue; // not a netns, or gone
    }
    let id: number | undefined;
    try {
      id = nsidOf(host.nl, ns.fd);
    } catch {
      id = undefined;
    }
    if (id !== undefined && wanted.has(id) && !found.has(id)) found.set(id, ns);
    else ns.close();
  }
  return found;
}

/** The addresses of the host veth's peer in `ns` that this IPAM could have given (plain). */
function peerAddresses(ns: NetNS, veth: Link, manages: (address: string) => boolean): string[] | string {
  const sock = NetlinkSocket.open({ netns: ns });
  try {
    const peer = veth.parent === undefined ? undefined : getLink(sock, veth.parent);
    if (peer === undefined || peer.kind !== 'veth' || peer.parent !== veth.index) return `no veth peer #${veth.parent ?? '?'} of ${veth.name} in ${ns.path}`;
    return listAddresses(sock, { index: peer.index })
      .filter((a) => a.scope !== RT_SCOPE_LINK)
      .map((a) => a.address)
      .filter(manages);
  } finally {
    sock.close();
  }
}

/**
 * Every live pod of `network` on the node: owner and addresses. `known` are the owners the store
 * knows (to name digest-form veths); `manages` keeps only addresses the IPAM could have given.
 */
export function findLivePods(
  host: HostSide,
  network: string,
  known: readonly Owner[],
  manages: (address: string) => boolean,
  candidates: () => readonly string[] = () => candidateNetnsFiles(),
): LivePods {
  const byDigest = new Map(known.map((o) => [attachmentDigest({ network, ...o }), o]));
  const veths: Array<{ link: Link; owner: Owner }> = [];
  for (const link of listLinks(host.nl, { kind: 'veth' })) {
    const ownership = parseOwnership(link.name, link.alias);
    if (ownership === undefined || !ownedByNetwork(ownership, network)) continue;
    const owner: Owner =
      ownership.form === 'named'
        ? { containerId: ownership.owner.containerId, ifname: ownership.owner.ifname }
        : (byDigest.get(ownership.digest) ?? { containerId: `${PLACEHOLDER_PREFIX}${ownership.digest}`, ifname: 'unknown' });
    veths.push({ link, owner });
  }
  const pods: LiveAttachment[] = [];
  const unresolved: UnresolvedVeth[] = [];
  const wanted = new Set(veths.map((v) => v.link.parentNetnsId).filter((id): id is number => id !== undefined));
  const namespaces = wanted.size > 0 ? namespacesById(host, wanted, candidates()) : new Map<number, NetNS>();
  try {
    for (const { link, owner } of veths) {
      const ns = link.parentNetnsId === undefined ? undefined : namespaces.get(link.parentNetnsId);
      if (ns === undefined) {
        unresolved.push({
          veth: link.name,
          owner,
          reason:
            link.parentNetnsId === undefined
              ? 'its peer is not in another netns'
              : `no netns file with nsid ${link.parentNetnsId} in ${NETNS_DIRS.join(', ')} or /proc/*/ns/net`,
        });
        continue;
      }
      const addresses = peerAddresses(ns, link, manages);
      if (typeof addresses === 'string') unresolved.push({ veth: link.name, owner, reason: addresses });
      else pods.push({ owner, addresses });
    }
  } finally {
    for (const ns of namespaces.values()) ns.close();
  }
  return { pods, unresolved };
}

/**
 * Repairs the network's store (LevelDB repair, consistency) and records every address its live
 * pods use. The IPAM must be the built-in one: a delegated IPAM keeps its own store.
 */
export async function repairNetwork(options: BridgePodHalfOptions, conf: NetConf, candidates?: () => readonly string[]): Promise<BridgeRepairResult> {
  const call = await openCall(options, conf, {});
  try {
    const { cfg, host } = call;
    if (cfg.ipam === undefined) throw new CniError(ErrorCode.InvalidConfig, `network "${cfg.network}" has no IPAM: nothing to repair`);
    if (cfg.ipam.type !== BUILTIN_IPAM_TYPE) {
      throw new CniError(
        ErrorCode.InvalidConfig,
        `network "${cfg.network}" uses IPAM "${cfg.ipam.type}"`,
        `only the built-in ${BUILTIN_IPAM_TYPE} store is repaired here; repair that IPAM's store with its own tools`,
      );
    }
    const ipamConf = { ...conf, ipam: cfg.ipam };
    const location = parseStoreLocation(ipamConf);
    let ranges: IpamConfig | undefined;
    try {
      ranges = parseIpamConfig(ipamConf);
    } catch {
      ranges = undefined; // ranges no longer parse: keep every non-link-local address
    }
    const manages = (address: string): boolean => ranges === undefined || managesAddress(ranges, address);
    let live: LivePods = { pods: [], unresolved: [] };
    const report = await repair(location, {
      lock: flockStoreLock,
      live: (known) => {
        live = findLivePods(host, cfg.network, known, manages, candidates);
        return live.pods;
      },
    });
    return { report, pods: live.pods, unresolved: live.unresolved };
  } finally {
    call.close();
  }
}

/**
 * The `repair` command of a backend executable built on the bridge pod half: `type` picks the
 * plugin out of a conflist (`podnet-bridge`). Returns the exit code: 0 repaired; 3 repaired but a
 * live pod could not be checked or an address is in conflict; 1 failed; 2 usage.
 */
export async function bridgeRepairMain(argv: readonly string[], type: string, options: BridgePodHalfOptions = {}, io: CommandIo = processIo): Promise<number> {
  try {
    const conf = loadNetworkConfig(parseRepairArgs(argv).config, (plugin) => plugin['type'] === type);
    if (conf.type !== type) throw new UsageError(`--config is a "${conf.type}" network, not "${type}"`);
    const { report, pods, unresolved } = await repairNetwork(options, conf);
    for (const line of reportLines(report)) io.stderr(`${line}\n`);
    io.stderr(`repair: ${pods.length} live pod(s) of network "${conf.name}" checked against the store\n`);
    for (const u of unresolved) {
      io.stderr(
        `repair: WARNING live veth ${u.veth} of ${u.owner.containerId}/${u.owner.ifname} not checked: ${u.reason}; its address is protected only if the store kept it\n`,
      );
    }
    io.stdout(`${JSON.stringify(reportJson(report, { livePods: pods.length, unresolved }))}\n`);
    return unresolved.length > 0 || report.plan.conflicts.length > 0 ? RepairExit.Attention : RepairExit.Ok;
  } catch (err) {
    return failed(io, err);
  }
}
