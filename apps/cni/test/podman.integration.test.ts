// A real runtime: Debian's podman 4.3 (CNI backend, libcni 1.1.2) runs containers on a network
// whose plugin is dist/bin/podnet-bridge (IPAM podnet-ipam in-process). Podman runs plugins in
// the host namespace, so the bridge and the host veths live there for the test's duration; the
// fixture removes them (support/podman.ts). Everything is named pnt-pod….
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin } from './support/harness.ts';
import { ipamAllocations } from './support/allocations.ts';
import { PODMAN_PREFIX } from './support/names.ts';
import { Podman } from './support/podman.ts';
import { readFromHost } from './support/tcp.ts';

const PORT = 8080;
let podman: Podman;

beforeAll(async () => {
  podman = await Podman.create({ prefix: PODMAN_PREFIX, binDir: path.dirname(bin.bridge), subnet: '10.213.7.0/24' });
});
afterAll(() => podman?.destroy());

/** A container answering "<greeting>\n" to every TCP connection on PORT; its address. */
async function startServer(name: string, greeting: string): Promise<string> {
  await podman.startEchoServer(name, PORT, greeting);
  return podman.ipOf(name);
}

describe('podman with a podnet-bridge network', () => {
  it("accepts the network: podman's VERSION probe of podnet-bridge lists the conflist's 1.0.0", async () => {
    const r = await podman.run(['network', 'ls', '--format', '{{.Name}}']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toContain(podman.network);
    expect(r.stderr, 'no warning about the network').not.toMatch(new RegExp(podman.network));
  });

  it('two containers talk TCP to each other, the host reaches both, and podman rm releases everything', async () => {
    const a = `${podman.id}-a`;
    const b = `${podman.id}-b`;
    const ipA = await startServer(a, 'pnt-hello-a');
    const ipB = await startServer(b, 'pnt-hello-b');
    expect(ipA).toMatch(/^10\.213\.7\.\d+$/);
    expect(ipB).toMatch(/^10\.213\.7\.\d+$/);
    expect(ipA).not.toBe(ipB);

    // Container ↔ container.
    expect((await podman.ok(['exec', a, 'nc', '-w', '3', ipB, String(PORT)])).trim()).toBe('pnt-hello-b');
    expect((await podman.ok(['exec', b, 'nc', '-w', '3', ipA, String(PORT)])).trim()).toBe('pnt-hello-a');
    // Host → container.
    expect((await readFromHost(ipA, PORT)).trim()).toBe('pnt-hello-a');
    expect((await readFromHost(ipB, PORT)).trim()).toBe('pnt-hello-b');

    const ids = (await podman.ok(['ps', '--quiet', '--no-trunc', '--filter', `name=${podman.id}-`])).split('\n').filter(Boolean).sort();
    expect(ids).toHaveLength(2);
    const held = await ipamAllocations(podman.ipamDir, podman.network);
    expect(held.map((x) => x.containerId).sort()).toEqual(ids);
    expect(held.map((x) => x.ip).sort()).toEqual([ipA, ipB].sort());
    expect(await podman.hostVeths()).toHaveLength(2);

    await podman.ok(['rm', '--force', '--time', '0', a, b]);
    expect(await ipamAllocations(podman.ipamDir, podman.network), 'podman rm released both addresses').toEqual([]);
    expect(await podman.hostVeths(), 'no host veth left').toEqual([]);
    expect(await podman.cachedResults(), "libcni's cache entries removed (DEL succeeded)").toEqual([]);
  });

  it('a container that exits on its own is cleaned up by podman container cleanup (minimal environment)', async () => {
    const name = `${podman.id}-c`;
    const id = (await podman.ok(['run', '--detach', '--pull=never', '--name', name, podman.image, 'sleep', '1'])).trim();
    expect((await ipamAllocations(podman.ipamDir, podman.network)).map((x) => x.containerId)).toContain(id);
    await podman.ok(['wait', name]);
    // `podman wait` returns when the container stopped; conmon's cleanup process runs right after.
    const mine = async (): Promise<unknown[]> => [
      ...(await ipamAllocations(podman.ipamDir, podman.network)).filter((x) => x.containerId === id),
      ...(await podman.hostVeths(id)),
    ];
    await expect.poll(mine, { timeout: 10_000, interval: 100 }).toEqual([]);
    await podman.ok(['rm', name]);
  });
});
