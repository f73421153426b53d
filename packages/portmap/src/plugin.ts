// podnet-portmap: the chained plugin. Takes the reference portmap's config keys, reads the pod's
// addresses from prevResult (so it works after any plugin: the reference bridge, podnet-bridge,
// anything), and hands prevResult on unchanged.
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { CmdArgs, GcArgs, Plugin, Result } from '@podnet/core/cni';
import { getLink, NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { parsePortmapConfig } from './config.js';
import { HostPorts } from './host-ports.js';
import { deviceTowards } from './localnet.js';
import type { NftRunner } from './nft.js';
import type { HostPortPlan } from './plan.js';

export interface PortmapPluginOptions {
  /** The nft runner, started through `enter` (the node's netns). */
  nft: (enter: <T>(fn: () => T) => T) => NftRunner;
  /** The node's netns path; default the calling thread's (where a runtime runs the plugin). Tests name one. */
  hostNetns?: string;
  /** Host-port records (state.ts); default /run/podnet/hostports. */
  stateDir?: string;
}

interface Node {
  hostPorts: HostPorts;
  enter: <T>(fn: () => T) => T;
  close(): void;
}

function openNode(options: PortmapPluginOptions, args: CmdArgs | GcArgs): Node {
  const netns = options.hostNetns ? NetNS.open(options.hostNetns) : undefined;
  const enter = <T>(fn: () => T): T => (netns ? netns.run(fn) : fn());
  const log = args.log ? { warn: (m: string) => args.log!.warn(m), info: (m: string) => args.log!.info(m) } : undefined;
  const hostPorts = new HostPorts({
    nft: options.nft(enter),
    enter,
    ...(options.stateDir ? { stateDir: options.stateDir } : {}),
    ...(log ? { log } : {}),
  });
  return { hostPorts, enter, close: () => netns?.close() };
}

/** The pod's addresses in prevResult: those on an interface inside a sandbox (or on no interface). */
function podAddresses(prev: Result): string[] {
  const interfaces = prev.interfaces ?? [];
  return (prev.ips ?? []).filter((ip) => ip.interface === undefined || (interfaces[ip.interface]?.sandbox ?? '') !== '').map((ip) => ip.address);
}

function planFor(node: Node, args: CmdArgs, verb: string): { plan: HostPortPlan; prev: Result } {
  const cfg = parsePortmapConfig(args.config);
  const prev = args.config.prevResult;
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      `${verb} needs prevResult`,
      'podnet-portmap is a chained plugin: list it after the plugin that creates the interface (e.g. bridge or podnet-bridge)',
    );
  }
  const owner = { network: cfg.network, containerId: args.containerId, ifname: args.ifname };
  const plan = node.hostPorts.plan({ owner, mappings: cfg.mappings, podAddresses: podAddresses(prev), profile: cfg.profile });
  return { plan, prev };
}

export function createPortmapPlugin(options: PortmapPluginOptions): Plugin {
  return {
    async add(args) {
      const node = openNode(options, args);
      try {
        const { plan, prev } = planFor(node, args, 'ADD');
        if (plan.elements.length === 0) return prev;
        const device = plan.podV4 && plan.profile.snat ? node.enter(() => podDevice(plan.podV4!)) : undefined;
        await node.hostPorts.add(plan, device);
        return prev;
      } finally {
        node.close();
      }
    },
    async del(args) {
      // Everything this attachment holds, found by its comment: with or without runtimeConfig,
      // prevResult or netns, and after the network was renamed. Config errors do not block it.
      const node = openNode(options, args);
      try {
        const owner = { containerId: args.containerId, ifname: args.ifname };
        const sent = (args.config.runtimeConfig as { portMappings?: unknown } | undefined)?.portMappings;
        if (node.hostPorts.mayHold(owner, Array.isArray(sent) && sent.length > 0)) await node.hostPorts.remove(owner);
      } finally {
        node.close();
      }
    },
    async check(args) {
      const node = openNode(options, args);
      try {
        const { plan } = planFor(node, args, 'CHECK');
        await node.hostPorts.check(plan);
      } finally {
        node.close();
      }
    },
    async gc(args) {
      const node = openNode(options, args);
      try {
        parsePortmapConfig(args.config);
        await node.hostPorts.gc(
          args.config.name,
          args.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
        );
      } finally {
        node.close();
      }
    },
  };
}

/** The node's device towards the pod (route_localnet goes there): a route lookup, as the reference does. */
function podDevice(address: string): string | undefined {
  const nl = NetlinkSocket.open();
  try {
    return deviceTowards(nl, address, (index) => getLink(nl, index)?.name);
  } finally {
    nl.close();
  }
}
