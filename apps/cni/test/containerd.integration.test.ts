// containerd, the runtime Kubernetes uses: Debian's containerd 1.6 started by the test inside a
// lab node and driven over CRI the way kubelet drives it (RunPodSandbox with port mappings,
// PodSandboxStatus, StopPodSandbox, RemovePodSandbox). Two conflists: podnet-bridge with host
// ports built in, and the reference bridge + host-local + podnet-portmap. containerd sends the
// mappings with capitalized keys (HostPort…), lowercases the protocol, and DELs twice (the second
// without a netns). Names are pnp-….
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { executable, Lab, links, Netns, PeerEcho, type LabNode } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ipamAllocations } from './support/allocations.ts';
import { Containerd } from './support/containerd.ts';
import { addRemoteHost, connectSeen, NODE4, REMOTE4 } from './support/underlay.ts';

interface Scenario {
  label: string;
  conflist: (ctx: { network: string; bridge: string; dataDir: string }) => Record<string, unknown>;
  /** Whether the allocation of `ip` for `id` is in this scenario's IPAM. */
  allocated: (ctx: { network: string; dataDir: string }, id: string, ip: string) => Promise<boolean>;
}

const scenarios: Scenario[] = [
  {
    label: 'podnet-bridge, host ports built in',
    conflist: ({ network, bridge, dataDir }) => ({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        {
          type: 'podnet-bridge',
          bridge,
          isGateway: true,
          isDefaultGateway: true,
          ipMasq: true,
          capabilities: { portMappings: true },
          ipam: { type: 'podnet-ipam', ranges: [[{ subnet: '10.245.0.0/24' }]], dataDir },
        },
      ],
    }),
    allocated: async ({ network, dataDir }, id, ip) => (await ipamAllocations(dataDir, network)).some((a) => a.containerId === id && a.ip === ip),
  },
  {
    label: 'reference bridge + host-local + podnet-portmap',
    conflist: ({ network, bridge, dataDir }) => ({
      cniVersion: '1.0.0',
      name: network,
      plugins: [
        {
          type: 'bridge',
          bridge,
          isGateway: true,
          isDefaultGateway: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.245.1.0/24' }]], dataDir },
        },
        { type: 'podnet-portmap', snat: true, capabilities: { portMappings: true } },
      ],
    }),
    allocated: async ({ network, dataDir }, _id, ip) => existsSync(path.join(dataDir, network, ip)),
  },
];

for (const scenario of scenarios) {
  describe(`containerd 1.6 over CRI: ${scenario.label}`, () => {
    let lab: Lab;
    let node: LabNode;
    let remote: Netns;
    let cri: Containerd;
    let ctx: { network: string; bridge: string; dataDir: string };

    beforeAll(async () => {
      lab = new Lab({ prefix: 'pnp-' });
      node = await lab.addNode('node');
      remote = await addRemoteHost(lab, node);
      ctx = { network: `${lab.id}-net`, bridge: lab.linkName('br'), dataDir: await lab.tempDir('ipam') };
      cri = await Containerd.create({
        prefix: 'pnp-ctd',
        node,
        plugins: {
          'podnet-bridge': executable('podnet-bridge'),
          'podnet-portmap': executable('podnet-portmap'),
          bridge: '/usr/lib/cni/bridge',
          'host-local': '/usr/lib/cni/host-local',
        },
        conflist: scenario.conflist(ctx),
      });
    }, 120_000);
    afterAll(async () => {
      await cri?.destroy();
      // Host-port records of this node's netns (see portmap.integration.test.ts).
      if (node) await rm(`/run/podnet/hostports/netns-${statSync(node.netns.path).ino}`, { recursive: true, force: true });
      await lab?.destroy();
    });

    it("pods get podnet's addresses, talk without NAT, the host port is reached from another host, and nothing is left after removal", async () => {
      const web = await cri.runPod('web', [{ protocol: 'TCP', containerPort: 8080, hostPort: 30080, hostIp: '' }]);
      const client = await cri.runPod('client', []);
      const sw = await cri.status(web);
      const sc = await cri.status(client);
      expect(sw.state).toBe('SANDBOX_READY');
      expect(sw.ip).toMatch(/^10\.245\.\d\.\d+$/);
      expect(await scenario.allocated(ctx, web, sw.ip), `containerd's pod IP ${sw.ip} is the one the IPAM allocated`).toBe(true);
      expect(await scenario.allocated(ctx, client, sc.ip)).toBe(true);
      expect(sw.netns).toMatch(/^\/var\/run\/netns\/cni-|^\/run\/netns\/cni-/);

      const webNs = new Netns(path.basename(sw.netns!));
      const clientNs = new Netns(path.basename(sc.netns!));
      await PeerEcho.start(lab, webNs, 8080);
      // Pod ↔ pod: the server sees the client pod's own address.
      expect(await connectSeen(clientNs, sw.ip, 8080)).toBe(sc.ip);
      // The host port from a second host: DNAT only, the client's address kept.
      expect(await connectSeen(remote, NODE4, 30080)).toBe(REMOTE4);
      const table = await node.netns.execOk('nft', ['list', 'table', 'inet', 'podnet_hostports']);
      expect(table).toContain(`tcp . 30080 comment "${ctx.network}|${web}/eth0" : ${sw.ip} . 8080`);

      await cri.removePod(web);
      await cri.removePod(client);
      expect(await scenario.allocated(ctx, web, sw.ip)).toBe(false);
      expect(await scenario.allocated(ctx, client, sc.ip)).toBe(false);
      const left = (await links(node.netns)).filter((l) => l.ifname !== 'lo' && l.ifname !== ctx.bridge && !l.ifname.startsWith(lab.id));
      expect(
        left.map((l) => l.ifname),
        'no host veth left',
      ).toEqual([]);
      const after = await node.netns.exec('nft', ['list', 'table', 'inet', 'podnet_hostports']);
      expect(after.stdout).not.toContain(web);
      expect(await connectSeen(remote, NODE4, 30080)).toMatch(/^unreached/);
      expect(existsSync(sw.netns!), 'pod netns removed').toBe(false);
    });
  });
}
