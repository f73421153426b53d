// podman 4.3 publishing ports (`podman run -p`) on a podnet-bridge network: the conflist declares
// the portMappings capability, podman sends `runtimeConfig.portMappings`, and podnet-bridge
// installs the host ports itself (no portmap plugin in the chain). Podman runs plugins in the
// host namespace, so the host-port table lives there for the test; names are pnp-pod….
import { statSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '@podnet/lab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin } from './support/harness.ts';
import { Podman } from './support/podman.ts';
import { readFromHost } from './support/tcp.ts';

const PORT = 8080;
let podman: Podman;

beforeAll(async () => {
  podman = await Podman.create({
    prefix: 'pnp-pod',
    binDir: path.dirname(bin.bridge),
    subnet: '10.213.9.0/24',
    pluginExtra: { capabilities: { portMappings: true } },
  });
});
afterAll(async () => {
  await podman?.destroy();
  // The node-wide table stays after the last DEL (as the bridge does); drop it only if it holds
  // nobody's host port (its claim sets are empty), so a real user of this machine loses nothing.
  const t = await run('nft', ['-j', 'list', 'table', 'inet', 'podnet_hostports']);
  if (t.code === 0) {
    const doc = JSON.parse(t.stdout) as { nftables: Array<{ set?: { name: string; elem?: unknown[] } }> };
    const claimed = doc.nftables.some((e) => e.set !== undefined && /^claims[46]$/.test(e.set.name) && (e.set.elem?.length ?? 0) > 0);
    if (!claimed) await run('nft', ['delete', 'table', 'inet', 'podnet_hostports']);
  }
  // The host namespace's record directory, once empty (rmdir refuses otherwise).
  await rmdir(`/run/podnet/hostports/netns-${statSync('/proc/self/ns/net').ino}`).catch(() => undefined);
});

async function hostPortTable(): Promise<string> {
  const r = await run('nft', ['list', 'table', 'inet', 'podnet_hostports']);
  return r.code === 0 ? r.stdout : '';
}

describe('podman -p on a podnet-bridge network (host ports built in)', () => {
  it('publishes HOST:CONTAINER reachable from the host (127.0.0.1 and the gateway address), removed on podman rm', async () => {
    const name = `${podman.id}-web`;
    const hostPort = 18000 + Math.floor(Math.random() * 1000);
    const id = await podman.startEchoServer(name, PORT, 'pnp-published', ['-p', `127.0.0.1:${hostPort}:${PORT}`, '-p', `${hostPort + 1}:${PORT}`]);
    const ip = await podman.ipOf(name);
    const table = await hostPortTable();
    expect(table).toContain(`127.0.0.1 . tcp . ${hostPort} comment "${podman.network}|${id}/eth0" : ${ip} . ${PORT}`);
    expect(table).toContain(`tcp . ${hostPort + 1} comment "${podman.network}|${id}/eth0" : ${ip} . ${PORT}`);

    expect((await readFromHost('127.0.0.1', hostPort)).trim()).toBe('pnp-published');
    expect((await readFromHost('127.0.0.1', hostPort + 1)).trim()).toBe('pnp-published');
    // The node's own address on the pod network (the bridge's gateway), not loopback.
    expect((await readFromHost('10.213.9.1', hostPort + 1)).trim()).toBe('pnp-published');

    await podman.ok(['rm', '--force', '--time', '0', name]);
    expect(await hostPortTable()).not.toContain(id);
    await expect(readFromHost('127.0.0.1', hostPort)).rejects.toThrow();
  });
});
