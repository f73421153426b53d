// The host-gw pod half: the bridge pod half (no copy), configured per call from the node's lease.
// Which verbs need the lease: ADD and CHECK (code 11 until podnetd wrote it), STATUS (code 50).
// DEL and GC never read it: they find everything from the network name and the container, so a
// node whose agent is gone, or a lease file that changed, never blocks a cleanup.
import { createBridgePodHalf } from '@podnet/backend-bridge';
import type { BridgePodHalfOptions } from '@podnet/backend-bridge';
import type { CmdArgs, GcArgs, Plugin, StatusArgs } from '@podnet/core/cni';
import { HOST_GW_KEYS, leaseFileOf, loadLease } from './lease.js';
import type { LeaseVerb } from './lease.js';
import { resolveHostGwConfig, withDefaultIpam } from './resolve.js';

/** The node bridge when the conflist names none. */
export const DEFAULT_BRIDGE = 'podnet0';

/** The bridge pod half's options, less what host-gw decides itself (config keys and their resolution). */
export type HostGwPodHalfOptions = Omit<BridgePodHalfOptions, 'resolveConfig' | 'extraKeys'> & {
  /**
   * The lease file's `backend` this pod half serves (default `host-gw`). The VXLAN backend's pods
   * attach exactly as host-gw's (bridge, lease subnet, lease MTU) and reuse this pod half with `vxlan`.
   */
  leaseBackend?: string;
};

export function createHostGwPodHalf(podHalfOptions: HostGwPodHalfOptions = {}): Plugin {
  const { leaseBackend, ...options } = podHalfOptions;
  // One bridge pod half per lease need; the lease is read after the bridge has validated the
  // config, so a bad config is reported as such (code 2/7) before any "no lease yet".
  const half = (verb: LeaseVerb | undefined): Plugin =>
    createBridgePodHalf({
      defaultBridge: DEFAULT_BRIDGE,
      ...options,
      extraKeys: HOST_GW_KEYS,
      resolveConfig: (cfg, raw) => {
        const path = leaseFileOf(raw);
        return resolveHostGwConfig(cfg, raw, verb ? loadLease(path, verb, leaseBackend) : undefined);
      },
    });
  const withLease = { ADD: half('ADD'), CHECK: half('CHECK'), STATUS: half('STATUS') };
  const withoutLease = half(undefined);
  const cmd = (args: CmdArgs): CmdArgs => ({ ...args, config: withDefaultIpam(args.config) });
  return {
    add: (args) => withLease.ADD.add(cmd(args)),
    check: (args) => withLease.CHECK.check(cmd(args)),
    del: (args) => withoutLease.del(cmd(args)),
    gc: (args: GcArgs) => withoutLease.gc!({ ...args, config: withDefaultIpam(args.config) }),
    status: (args: StatusArgs) => withLease.STATUS.status!({ ...args, config: withDefaultIpam(args.config) }),
    ...(withoutLease.knownArgs ? { knownArgs: withoutLease.knownArgs } : {}),
  };
}
