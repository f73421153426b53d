// The lab itself: namespaces come and go with the lab, a CNI call gets exactly the runtime's
// environment and stdin inside the node's namespace, probes see real traffic.
import { chmod, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runOk } from './exec.js';
import { links } from './kernel.js';
import { Lab } from './lab.js';
import { listNetns } from './netns.js';
import { PeerEcho, ping } from './probe.js';

const lab = new Lab({ prefix: 'pnt-e' });
afterAll(() => lab.destroy());

describe('Lab', () => {
  it('creates prefixed namespaces with loopback up, and destroy() removes them', async () => {
    const other = new Lab({ prefix: 'pnt-e' });
    const node = await other.addNode('n');
    const pod = await other.addPod(node, 'p');
    expect(node.netns.name).toBe(`${other.id}-n`);
    expect(pod.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect((await links(pod.netns)).find((l) => l.ifname === 'lo')?.flags).toContain('UP');
    await other.destroy();
    expect((await listNetns()).filter((n) => n.startsWith(other.id))).toEqual([]);
  });

  it('refuses link names longer than 15 characters', () => {
    expect(lab.linkName('br')).toHaveLength(lab.id.length + 2);
    expect(() => lab.linkName('much-too-long')).toThrow(/longer than 15/);
  });

  it('runs a CNI executable inside the node namespace with only the runtime environment and the config on stdin', async () => {
    const node = await lab.addNode('cni');
    const pod = await lab.addPod(node, 'cnipod');
    const plugin = path.join(await lab.tempDir('plugin'), 'fake-plugin');
    await writeFile(plugin, '#!/bin/sh\nreadlink /proc/self/ns/net\nenv | sort\ncat\necho\nexit 3\n');
    await chmod(plugin, 0o755);
    const r = await node.cni(plugin, pod.invocation('ADD', { cniVersion: '1.0.0' }, { path: ['/a', '/b'], args: 'K=V', env: { CNI_IFNAME: undefined } }));
    const nodeNs = await runOk('ip', ['netns', 'exec', node.netns.name, 'readlink', '/proc/self/ns/net']);
    expect(r.code).toBe(3);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(nodeNs.trim());
    expect(lines[0]).not.toBe(await readlink('/proc/self/ns/net'));
    const env = lines.slice(1, -1).filter((l) => !/^(PWD|SHLVL|_)=/.test(l));
    expect(env).toEqual([
      'CNI_ARGS=K=V',
      'CNI_COMMAND=ADD',
      `CNI_CONTAINERID=${pod.containerId}`,
      `CNI_NETNS=${pod.netns.path}`,
      'CNI_PATH=/a:/b',
      expect.stringMatching(/^PATH=/),
    ]);
    expect(lines.at(-1)).toBe('{"cniVersion":"1.0.0"}');
  });

  it('probes traffic between namespaces and reports the source address the server saw', async () => {
    const node = await lab.addNode('net');
    const a = await lab.addPod(node, 'a');
    const b = await lab.addPod(node, 'b');
    await runOk('ip', ['link', 'add', 'eth0', 'netns', a.netns.name, 'type', 'veth', 'peer', 'eth0', 'netns', b.netns.name]);
    for (const [pod, ip] of [
      [a, '10.255.0.1/30'],
      [b, '10.255.0.2/30'],
    ] as const) {
      await pod.netns.execOk('ip', ['addr', 'add', ip, 'dev', 'eth0']);
      await pod.netns.execOk('ip', ['link', 'set', 'eth0', 'up']);
    }
    expect(await ping(a.netns, '10.255.0.2')).toBe(true);
    expect(await ping(a.netns, '10.255.0.3')).toBe(false);
    const echo = await PeerEcho.start(lab, b.netns, 7070);
    expect(await echo.peerSeenFrom(a.netns, '10.255.0.2')).toBe('10.255.0.1');
  });
});
