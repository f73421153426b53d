// ADD, orchestration only: each step is a named module; each change pushes its undo, so any
// failure reverts everything this call did (veth, addresses, IPAM allocation, nft elements, a
// bridge it created) before the error goes back to the runtime.
import { CniError, ErrorCode, toCniError } from '@podnet/core/cni';
import type { CmdArgs, Result } from '@podnet/core/cni';
import type { HeldLock } from '@podnet/core/lock';
import { buildResult, planAddressing } from './addressing.js';
import { enableForwarding, ensureBridge, ensureGatewayAddresses, removeBridgeIfUnused, removeBridgeAddresses } from './bridge-device.js';
import type { BridgePodHalfOptions } from './context.js';
import { openCall, openPod } from './context.js';
import { DEFAULT_LOCK_DIR, RELEASE, lockAttachment } from './attachment-lock.js';
import { configureHostPort, deleteOwnedHostVeth, hostVethConflict } from './host-port.js';
import { hostVethName, ownerAlias } from './host-veth.js';
import { configurePod, createPodVeth, ensureIfnameFree } from './pod-interface.js';
import type { PodSide } from './pod-netns.js';
import { UndoList } from './undo.js';
import { DEFAULT_PROFILE } from '@podnet/portmap';

export async function add(options: BridgePodHalfOptions, args: CmdArgs): Promise<Result> {
  if (!args.netns) throw new CniError(ErrorCode.InvalidEnvironment, 'CNI_NETNS is required for ADD', 'the pod network namespace path');
  const call = await openCall(options, args.config, args.args, args.log);
  const { cfg, host, ipam, masq, hostPorts } = call;
  const owner = { network: cfg.network, containerId: args.containerId, ifname: args.ifname };
  let pod: PodSide | undefined;
  let lock: HeldLock | undefined;
  const undo = new UndoList();
  try {
    lock = await lockAttachment(options.lockDir ?? DEFAULT_LOCK_DIR, owner);
    pod = openPod(call, args.netns);
    ensureIfnameFree(pod, args.ifname);
    const hostName = hostVethName(cfg.network, args.containerId, args.ifname);
    // Before IPAM: a refused ADD must not roll back (release) a live attachment's addresses.
    const conflict = hostVethConflict(host, hostName, owner);
    if (conflict) throw conflict;
    const bridge = ensureBridge(host, {
      name: cfg.bridge,
      promisc: cfg.promiscMode,
      vlanFiltering: cfg.vlan !== undefined,
      ...(cfg.mtu !== undefined ? { mtu: cfg.mtu } : {}),
    });
    if (bridge.created) undo.push(`delete bridge ${cfg.bridge}`, () => removeBridgeIfUnused(host, bridge.link));

    let ipamResult: Result | undefined;
    if (ipam) {
      ipamResult = await ipam.add(args);
      undo.push(`IPAM DEL (${ipam.type})`, () => ipam.del(args));
    }
    const plan = planAddressing(cfg, ipamResult);

    const veth = createPodVeth(host, pod, {
      hostName,
      ifname: args.ifname,
      alias: ownerAlias(owner),
      mtu: cfg.mtu ?? bridge.link.mtu,
      master: bridge.link.index,
      ...(cfg.mac !== undefined ? { mac: cfg.mac } : {}),
    });
    // Deleting the host end removes the pod end with it.
    undo.push(`delete veth ${hostName}`, () => void deleteOwnedHostVeth(host, hostName, owner));

    configurePod(pod, veth.pod, plan);
    // A pod with host ports gets hairpin on its port: with br_netfilter loaded (the usual
    // Kubernetes node), its own connection to node:hostPort is DNATed in the bridge path and goes
    // back out of the port it came in on, which a bridge only does in hairpin mode.
    const hairpin = cfg.hairpinMode || (cfg.portMappings.length > 0 && !cfg.promiscMode);
    configureHostPort(host, veth.host, { hairpin, ...(cfg.vlan !== undefined ? { vlan: cfg.vlan } : {}) });

    if (plan.bridgeAddresses.length > 0) {
      const added = ensureGatewayAddresses(host, bridge.link, plan.bridgeAddresses, cfg.forceAddress);
      if (added.length > 0) undo.push(`remove gateway addresses from ${cfg.bridge}`, () => removeBridgeAddresses(host, bridge.link, added));
      enableForwarding(host, new Set(plan.bridgeAddresses.map((a) => a.family)));
    }

    // Masquerade and host ports: one nft transaction (two when the steady-state one cannot apply).
    const addresses = plan.addresses.map((a) => a.cidr);
    const masqOn = cfg.ipMasq && addresses.length > 0;
    const masqOwner = { containerId: args.containerId, ifname: args.ifname };
    const ports =
      cfg.portMappings.length > 0 && addresses.length > 0
        ? hostPorts.plan({ owner, mappings: cfg.portMappings, podAddresses: addresses, profile: DEFAULT_PROFILE })
        : undefined;
    if (ports && ports.elements.length > 0) {
      const m = masqOn ? masq.addLines(masqOwner, addresses, cfg.masqExempt) : { fast: [], full: [] };
      await hostPorts.apply(ports, m.fast, async () => m.full);
      if (masqOn) undo.push('remove masquerade elements', () => masq.removeAddresses(addresses));
      undo.push('remove host ports', () => hostPorts.rollback(ports));
      // route_localnet on the bridge: the device towards the pod (127.0.0.1:hostPort).
      hostPorts.finish(ports, cfg.bridge);
    } else if (masqOn) {
      await masq.add(masqOwner, addresses, cfg.masqExempt);
      undo.push('remove masquerade elements', () => masq.removeAddresses(addresses));
    }

    const result = buildResult(cfg, ipamResult, plan, {
      bridge: { name: cfg.bridge, mac: bridge.link.mac },
      host: { name: hostName, mac: veth.host.mac },
      pod: { name: args.ifname, mac: veth.pod.mac, mtu: veth.pod.mtu, sandbox: args.netns },
    });
    undo.commit();
    return result;
  } catch (err) {
    const failures = await undo.rollback();
    for (const f of failures) args.log?.warn(`rollback: ${f}`);
    const e = toCniError(err);
    if (failures.length === 0) throw e;
    const note = `rollback incomplete: ${failures.join('; ')}`;
    throw new CniError(e.code, e.msg, e.details ? `${e.details}; ${note}` : note, { cause: err });
  } finally {
    pod?.close();
    call.close();
    // The lock file exists only while a call runs (attachment-lock.ts).
    lock?.release(RELEASE);
  }
}
