// What every verb starts from: the validated config, the IPAM of this call, the masquerade table
// of this network, and the node side (its netns and netlink socket).
import type { NetConf, Plugin } from '@podnet/core/cni';
import { IPAM_ARGS, ipamPlugin } from '@podnet/core/ipam-plugin';
import { parseBridgeConfig } from './config.js';
import type { BridgeConfig } from './config.js';
import { HostSide } from './host.js';
import { Ipam } from './ipam.js';
import { Masquerade } from './masquerade.js';
import { nftRunner } from './nft.js';
import type { NftRunner } from './nft.js';
import type { LinkReaper } from './link-reaper.js';
import { PodSide } from './pod-netns.js';
import { HostPorts } from '@podnet/portmap';
import type { HostPortsLog } from '@podnet/portmap';

export interface BridgePodHalfOptions {
  /** The bridge when the config names none. Default `podnet0`. */
  defaultBridge?: string;
  /** Top-level config keys a backend built on this pod half adds (it validates them itself). */
  extraKeys?: readonly string[];
  /**
   * Adjust the parsed config before any work: host-gw and VXLAN fill `ipam` with the node's lease
   * subnet, `mtu`, `isGateway` and `masqExempt` (the cluster range). Called for every verb, DEL
   * and GC included, so it must not fail when the lease is gone (keep what the config says).
   */
  resolveConfig?: (config: BridgeConfig, raw: NetConf) => BridgeConfig | Promise<BridgeConfig>;
  /** The in-process IPAM plugin behind `ipam.type: "podnet-ipam"`; default core's `ipamPlugin`. */
  builtinIpam?: Plugin;
  /**
   * The node's netns path. Default: the calling thread's, where a runtime runs a CNI executable.
   * Tests pass a "node" netns they created.
   */
  hostNetns?: string;
  /** Masquerade backend; default libnftables (else the `nft` binary), in the node's netns. */
  nft?: NftRunner;
  /**
   * Deletes host veths for DEL and GC; a daemon passes one that coalesces a burst of deletions
   * into one kernel wait (link-reaper.ts). Default: each deletion on its own, right away.
   */
  linkReaper?: LinkReaper;
  /** Directory of the per-attachment call locks (attachment-lock.ts); default /run/podnet/attachments. */
  lockDir?: string;
  /** Where host ports keep their per-attachment records (podnetd repairs from them); default /run/podnet/hostports. */
  hostPortStateDir?: string;
}

/** CNI_ARGS keys the bridge reads (MAC), plus those of its IPAM (IP, and Kubernetes' tolerated). */
export const BRIDGE_ARGS: readonly string[] = ['MAC', ...IPAM_ARGS];

export interface CallContext {
  cfg: BridgeConfig;
  host: HostSide;
  /** Absent for an L2-only network. */
  ipam: Ipam | undefined;
  masq: Masquerade;
  /** The node-wide host-port table (the `portMappings` capability). */
  hostPorts: HostPorts;
  /** Release the node side (netlink socket, netns handle). */
  close(): void;
}

export async function openCall(
  options: BridgePodHalfOptions,
  conf: NetConf,
  cniArgs: Readonly<Record<string, string>>,
  /** The call's logger: host ports warn through it (a mapping skipped for want of an address family). */
  log?: HostPortsLog,
): Promise<CallContext> {
  let cfg = parseBridgeConfig(conf, cniArgs, {
    defaultBridge: options.defaultBridge ?? 'podnet0',
    ...(options.extraKeys ? { extraKeys: options.extraKeys } : {}),
  });
  if (options.resolveConfig) cfg = await options.resolveConfig(cfg, conf);
  const host = HostSide.open(options.hostNetns);
  const rewritten = cfg.ipam !== conf.ipam;
  const ipamConf: NetConf = rewritten ? { ...conf, ...(cfg.ipam ? { ipam: cfg.ipam } : {}) } : conf;
  const ipam = cfg.ipam ? new Ipam({ builtin: options.builtinIpam ?? ipamPlugin }, cfg.ipam.type, ipamConf, rewritten) : undefined;
  const nft = options.nft ?? nftRunner(host.enter);
  const masq = new Masquerade(cfg.network, nft);
  const hostPorts = new HostPorts({
    nft,
    enter: host.enter,
    ...(options.hostPortStateDir !== undefined ? { stateDir: options.hostPortStateDir } : {}),
    ...(log ? { log } : {}),
  });
  return { cfg, host, ipam, masq, hostPorts, close: () => host.close() };
}

/** The pod side of a call (ADD, CHECK). When the netns cannot be opened, the call is closed too. */
export function openPod(call: CallContext, netns: string): PodSide {
  try {
    return PodSide.open(netns);
  } catch (err) {
    call.close();
    throw err;
  }
}
