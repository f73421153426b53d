// The host-port table on a real kernel, in a namespace this file creates (pnp-…): the steady-state
// and full transactions, conflicts and races, DEL/GC/CHECK, the repair the agent runs after a
// flush, and the UDP conntrack flush. Traffic through the table is tested on the compiled
// executables (apps/cni/test/portmap.integration.test.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { NetNS } from '@podnet/core/netns';
import { runProcess } from '@podnet/core/process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostPorts } from './host-ports.js';
import { parsePortMappings } from './mapping.js';
import type { NftRunner } from './nft.js';
import { DEFAULT_PROFILE } from './profile.js';
import { repairHostPorts } from './repair.js';

const name = `pnp-u${randomBytes(3).toString('hex')}`;
let netns: NetNS;
let stateDir: string;
let nft: NftRunner;
let ports: HostPorts;
const enter = <T>(fn: () => T): T => netns.run(fn);

/** The test's own runner: `nft` inside the namespace (the executables use the bridge's). */
function nftIn(): NftRunner {
  const run = (args: string[], input = '') => runProcess('/usr/sbin/nft', { args, input, within: enter });
  return {
    async apply(script) {
      const r = await run(['-f', '-'], script);
      if (r.code !== 0) throw new Error(`nft: ${r.stderr}`);
    },
    async listJson(command) {
      const r = await run(['-j', ...command.split(' ')]);
      if (r.code !== 0) {
        if (/No such file or directory/.test(r.stderr)) return undefined;
        throw new Error(r.stderr);
      }
      return JSON.parse(r.stdout) as unknown;
    },
  };
}

const sh = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const table = (): string => {
  try {
    return sh('nft', 'list', 'table', 'inet', 'podnet_hostports');
  } catch {
    return '';
  }
};

beforeAll(() => {
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  netns = NetNS.open(`/run/netns/${name}`);
  stateDir = mkdtempSync(join(tmpdir(), 'pnp-state-'));
  nft = nftIn();
  ports = new HostPorts({ nft, stateDir, enter });
});
afterAll(() => {
  netns?.close();
  execFileSync('ip', ['netns', 'delete', name]);
  rmSync(stateDir, { recursive: true, force: true });
});

const owner = (containerId: string, network = 'pnp-net') => ({ network, containerId, ifname: 'eth0' });
const plan = (containerId: string, mappings: unknown[], pod = '10.66.0.2/24', network = 'pnp-net') =>
  ports.plan({ owner: owner(containerId, network), mappings: parsePortMappings(mappings), podAddresses: [pod, 'fd66::2/64'], profile: DEFAULT_PROFILE });

describe('HostPorts on the kernel', () => {
  it('first ADD declares, the next ones only add elements; CHECK sees them', async () => {
    const a = plan('aaaa', [{ hostPort: 8080, containerPort: 80 }]);
    await ports.add(a, 'lo');
    const b = plan('bbbb', [{ hostPort: 9090, containerPort: 90, protocol: 'udp' }], '10.66.0.3/24');
    await ports.add(b, undefined);
    const t = table();
    expect(t).toContain('tcp . 8080 comment "pnp-net|aaaa/eth0" : 10.66.0.2 . 80');
    expect(t).toContain('tcp . 8080 comment "pnp-net|aaaa/eth0" : fd66::2 . 80');
    expect(t).toContain('udp . 9090 comment "pnp-net|bbbb/eth0" : 10.66.0.3 . 90');
    expect(t).toMatch(/elements = \{ 10\.66\.0\.0\/24, 127\.0\.0\.0\/8 \}/);
    await ports.check(a);
    await ports.check(b);
    expect(readdirSync(ports.stateDir)).toHaveLength(2);
    // Scoped to the node's netns: this namespace's inode, not the test process's.
    expect(ports.stateDir).toBe(join(stateDir, `netns-${statSync(`/run/netns/${name}`).ino}`));
    expect(await repairHostPorts({ nft, stateDir })).toMatchObject({ repaired: false, missing: [] }); // another netns: no records
  });

  it('refuses a taken port naming the holder, also when two ADDs race', async () => {
    await expect(ports.add(plan('cccc', [{ hostPort: 8080, containerPort: 81 }], '10.66.0.4/24'), undefined)).rejects.toThrow(
      /tcp\/8080 on every IPv4 address is already taken by container aaaa, ifname eth0 \(network "pnp-net"\)/,
    );
    const racers = ['r1', 'r2', 'r3', 'r4'].map((id, i) => ports.add(plan(id, [{ hostPort: 7000, containerPort: 70 }], `10.66.0.${10 + i}/24`), undefined));
    const settled = await Promise.allSettled(racers);
    expect(settled.filter((s) => s.status === 'fulfilled')).toHaveLength(1);
    for (const s of settled) if (s.status === 'rejected') expect(String(s.reason)).toMatch(/tcp\/7000 .* already taken by container r\d/);
    // One holder: its claims and DNAT elements, v4 and v6.
    expect(new Set(table().match(/tcp \. 7000 comment "pnp-net\|r\d/g))).toHaveProperty('size', 1);
  });

  it("DEL removes the owner's elements by comment, after a network rename too", async () => {
    await ports.remove({ containerId: 'aaaa', ifname: 'eth0' });
    expect(table()).not.toContain('aaaa');
    expect(table()).toContain('bbbb');
    await ports.remove({ containerId: 'aaaa', ifname: 'eth0' }); // idempotent
    // A record whose port another pod holds now (the elements went behind DEL's back, e.g. a
    // flush, and pod "dddd" took the port): DEL by record must not delete dddd's elements.
    const e1 = plan('eeee', [{ hostPort: 8181, containerPort: 81 }], '10.66.0.5/24');
    await ports.add(e1, undefined);
    for (const e of e1.elements) sh('nft', 'delete', 'element', 'inet', 'podnet_hostports', e.set, `{ ${e.key} }`);
    const d1 = plan('dddd', [{ hostPort: 8181, containerPort: 82 }], '10.66.0.6/24');
    await ports.add(d1, undefined);
    await ports.remove({ containerId: 'eeee', ifname: 'eth0' });
    await ports.check(d1);
    expect(table()).not.toContain('eeee');
    await ports.remove({ containerId: 'dddd', ifname: 'eth0' });
    await expect(ports.check(plan('bbbb', [{ hostPort: 9090, containerPort: 90, protocol: 'udp' }], '10.66.0.3/24'))).resolves.toBeUndefined();
    await expect(ports.check(plan('aaaa', [{ hostPort: 8080, containerPort: 80 }]))).rejects.toThrow(/is missing/);
  });

  it("GC removes one network's stale attachments only, and drops the table when none is left", async () => {
    await ports.add(plan('other', [{ hostPort: 6000, containerPort: 60 }], '10.67.0.2/24', 'pnp-other'), undefined);
    const gone = await ports.gc('pnp-net', [{ containerId: 'bbbb', ifname: 'eth0' }]);
    expect(new Set(gone.map((e) => e.comment?.split('|')[0]))).toEqual(new Set(['pnp-net']));
    expect(gone.some((e) => /^pnp-net\|r\d\/eth0$/.test(e.comment ?? ''))).toBe(true);
    expect(table()).toContain('bbbb');
    expect(table()).toContain('pnp-other|other');
    expect(table()).not.toMatch(/7000/);
    await ports.gc('pnp-net', []);
    await ports.gc('pnp-other', []);
    expect(table()).toBe('');
    expect(readdirSync(ports.stateDir)).toEqual([]);
  });

  it('repair puts a flushed table back from the records, and is a no-op when all is there', async () => {
    await ports.add(
      plan('aaaa', [
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 8443, containerPort: 443, hostIP: '192.0.2.9' },
      ]),
      'lo',
    );
    const before = table();
    expect(await repairHostPorts({ nft, stateDir, enter })).toMatchObject({ repaired: false, missing: [] });
    sh('nft', 'flush', 'ruleset');
    expect(table()).toBe('');
    const report = await repairHostPorts({ nft, stateDir, enter });
    expect(report).toMatchObject({ repaired: true, restored: 9 });
    expect(table()).toBe(before);
    // A hand-flushed chain (the elements stay): re-declared.
    const chain = /chain (p[0-9a-f]{12}_dnat)/.exec(before)![1]!;
    sh('nft', 'flush', 'chain', 'inet', 'podnet_hostports', chain);
    expect((await repairHostPorts({ nft, stateDir, enter })).missing).toEqual([`chain ${chain}`]);
    expect(table()).toBe(before);
    await ports.check(
      plan('aaaa', [
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 8443, containerPort: 443, hostIP: '192.0.2.9' },
      ]),
    );
  });

  it('a re-ADD of an attachment replaces its elements (other ports, other pod address)', async () => {
    await ports.add(plan('re', [{ hostPort: 7100, containerPort: 71 }], '10.66.0.20/24'), undefined);
    await ports.add(plan('re', [{ hostPort: 7101, containerPort: 71 }], '10.66.0.21/24'), undefined);
    const t = table();
    expect(t).not.toContain('7100');
    expect(t).toContain('tcp . 7101 comment "pnp-net|re/eth0" : 10.66.0.21 . 71');
    await ports.remove({ containerId: 're', ifname: 'eth0' });
    expect(table()).not.toContain('re/eth0');
  });

  it('takes sctp mappings (this kernel has SCTP conntrack)', async () => {
    const s = plan('sctp', [{ hostPort: 9999, containerPort: 99, protocol: 'sctp' }], '10.66.0.8/24');
    await ports.add(s, undefined);
    expect(table()).toContain('sctp . 9999 comment "pnp-net|sctp/eth0" : 10.66.0.8 . 99');
    await ports.remove({ containerId: 'sctp', ifname: 'eth0' });
    expect(table()).not.toContain('sctp/eth0');
  });

  it('flushes the UDP conntrack entries of a new UDP host port', async () => {
    // A stale flow to node:5353 (nothing listens), made before the mapping exists.
    execFileSync('ip', [
      'netns',
      'exec',
      name,
      process.execPath,
      '-e',
      "const s=require('node:dgram').createSocket('udp4');s.send('x',5353,'127.0.0.1',()=>s.close())",
    ]);
    expect(countUdp(5353)).toBeGreaterThan(0);
    await ports.add(plan('udpy', [{ hostPort: 5353, containerPort: 53, protocol: 'udp' }], '10.66.0.9/24'), undefined);
    expect(countUdp(5353)).toBe(0);
  });
});

/** UDP conntrack entries to `port` in the namespace. */
function countUdp(port: number): number {
  return sh('cat', '/proc/net/nf_conntrack')
    .split('\n')
    .filter((l) => / udp /.test(l) && l.includes(`dport=${port} `)).length;
}
