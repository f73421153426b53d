// CHECK: the attachment still looks as prevResult says. Verifies the bridge, the host veth (by
// its deterministic name, enslaved to the bridge, peer of the pod interface), the pod interface
// (MAC), its addresses and routes, the masquerade elements, then IPAM CHECK.
// Codes: no netns → 8; no prevResult, or one without our interface → 7; state that differs → 999
// (the spec has no code for "not as configured"; the message names the object).
import { CniError, ErrorCode } from '@podnet/core/cni';
import type { CmdArgs } from '@podnet/core/cni';
import type { HeldLock } from '@podnet/core/lock';
import { tryParseCidr } from '@podnet/core/netlink';
import { checkBridge } from './bridge-device.js';
import type { BridgePodHalfOptions } from './context.js';
import { DEFAULT_LOCK_DIR, RELEASE, lockAttachment } from './attachment-lock.js';
import { openCall, openPod } from './context.js';
import type { PodSide } from './pod-netns.js';
import { checkHostPort } from './host-port.js';
import { hostVethName } from './host-veth.js';
import { ownerComment } from './masquerade.js';
import { checkPodInterface } from './pod-interface.js';
import { DEFAULT_PROFILE } from '@podnet/portmap';

export async function check(options: BridgePodHalfOptions, args: CmdArgs): Promise<void> {
  if (!args.netns) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_NETNS is required for CHECK', 'the pod network namespace path');
  const prev = args.config.prevResult;
  if (!prev) throw new CniError(ErrorCode.InvalidConfig, 'CHECK needs prevResult', 'the runtime passes the ADD result as prevResult');
  const call = await openCall(options, args.config, args.args, args.log);
  const { cfg, host, ipam, masq, hostPorts } = call;
  let pod: PodSide | undefined;
  let lock: HeldLock | undefined;
  try {
    lock = await lockAttachment(options.lockDir ?? DEFAULT_LOCK_DIR, { network: cfg.network, containerId: args.containerId, ifname: args.ifname });
    pod = openPod(call, args.netns);
    const interfaces = prev.interfaces ?? [];
    const podIndex = interfaces.findIndex((i) => i.name === args.ifname && i.sandbox !== undefined && i.sandbox !== '');
    const podIf = interfaces[podIndex];
    if (!podIf) {
      throw new CniError(ErrorCode.InvalidConfig, `prevResult has no interface "${args.ifname}" in a sandbox`, "expected the result of this plugin's ADD");
    }
    if (podIf.sandbox !== args.netns) {
      throw new CniError(ErrorCode.Internal, `interface "${args.ifname}" sandbox is "${podIf.sandbox}", expected CNI_NETNS "${args.netns}"`);
    }
    const addresses = (prev.ips ?? []).filter((ip) => ip.interface === undefined || ip.interface === podIndex).map((ip) => ip.address);
    const routes = (prev.routes ?? []).map((r) => ({ dst: r.dst, ...(r.gw !== undefined ? { gw: r.gw } : {}) }));

    const bridge = checkBridge(host, cfg.bridge);
    const podLink = checkPodInterface(pod, args.ifname, { ...(podIf.mac ? { mac: podIf.mac } : {}), addresses, routes });
    checkHostPort(host, hostVethName(cfg.network, args.containerId, args.ifname), bridge, podLink);

    if (cfg.ipMasq && addresses.length > 0) {
      const comment = ownerComment({ containerId: args.containerId, ifname: args.ifname });
      const have = new Set((await masq.list()).filter((e) => e.comment === comment).map((e) => e.address));
      for (const address of addresses) {
        const ip = tryParseCidr(address)?.address ?? address;
        if (!have.has(ip)) {
          throw new CniError(ErrorCode.Internal, `masquerade element for ${ip} (${comment}) missing from nft table inet ${masq.table}`);
        }
      }
    }
    if (cfg.portMappings.length > 0) {
      const owner = { network: cfg.network, containerId: args.containerId, ifname: args.ifname };
      await hostPorts.check(hostPorts.plan({ owner, mappings: cfg.portMappings, podAddresses: addresses, profile: DEFAULT_PROFILE }));
    }
    if (ipam) await ipam.check(args);
  } finally {
    pod?.close();
    call.close();
    // The lock file exists only while a call runs (attachment-lock.ts).
    lock?.release(RELEASE);
  }
}
