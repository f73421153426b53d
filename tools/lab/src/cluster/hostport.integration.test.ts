// Lab e2e for issue 10: host ports on host-gw (built into the pod half), 2 nodes with a real
// podnetd each (local store, reconcile every second). A pod on n1 asks for TCP and UDP host ports
// as containerd would (capitalized keys); n2 is the "other host" on the underlay. Then the node's
// ruleset is flushed (as a firewalld reload does) and the agent must put the host-port table back
// within a reconcile period. Every name starts with `pnp-l`; the lab is swept in afterAll.
import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cniOk, invokeCni } from '../cni.js';
import { createNetns, Netns } from '../netns.js';
import { BACKENDS } from './backends.js';
import { ClusterLab } from './lab.js';
import { useLabStateRoot } from './test-labs.js';
import type { NodeRecord } from './state.js';

const PREFIX = 'pnp-l';
const labs = useLabStateRoot(PREFIX, 'pnp-l-state-');
let lab: ClusterLab;
const children: ChildProcess[] = [];

const TCP_SERVER = `
require('node:net').createServer((c) => c.end(c.remoteAddress.replace(/^::ffff:/, '') + '\\n')).listen(8080, '::', () => console.log('ready'));
`;
const UDP_SERVER = `
const s = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
s.on('message', (m, r) => s.send(r.address.replace(/^::ffff:/, '') + '\\n', r.port, r.address));
s.bind(8053, '::', () => console.log('ready'));
`;
const TCP_CLIENT = `
const c = require('node:net').connect({ host: process.argv[1], port: Number(process.argv[2]) });
let seen = '';
c.on('data', (b) => (seen += b));
c.on('end', () => { process.stdout.write(seen); process.exit(0); });
c.on('error', (e) => { process.stdout.write('unreached: ' + e.code); process.exit(0); });
setTimeout(() => { process.stdout.write('unreached: timeout'); process.exit(0); }, 2000).unref();
`;
const UDP_CLIENT = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m) => { process.stdout.write(String(m)); process.exit(0); });
const ping = () => s.send('who', Number(process.argv[2]), process.argv[1]);
ping(); setInterval(ping, 300).unref();
setTimeout(() => { process.stdout.write('unreached: timeout'); process.exit(0); }, 3000);
`;

async function serve(ns: string, script: string): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server in ${ns} did not start`)), 10_000);
    child.stdout?.on('data', (b: Buffer) => {
      if (b.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function seen(from: NodeRecord, client: string, host: string, port: number): Promise<string> {
  return (await new Netns(from.netns).execOk(process.execPath, ['-e', client, host, String(port)], { timeoutMs: 10_000 })).trim();
}

beforeAll(async () => {
  lab = await ClusterLab.up({ prefix: PREFIX, stateRoot: labs.root, nodes: 2, pods: 1, store: 'local', reconcilePeriod: '1s' });
}, 120_000);
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  // Host-port records are per node netns (/run/podnet/hostports/netns-<inode>): drop the lab's
  // before its namespaces go, so a later namespace with a reused inode does not inherit them.
  for (const n of lab?.state.nodes ?? []) {
    try {
      await rm(`/run/podnet/hostports/netns-${statSync(`/run/netns/${n.netns}`).ino}`, { recursive: true, force: true });
    } catch {
      // the namespace is gone already: so are its tables
    }
  }
  await lab?.down().catch(() => undefined);
});

describe('host ports on host-gw, 2 nodes with podnetd', () => {
  let n1: NodeRecord;
  let n2: NodeRecord;
  let podNetns: string;
  let containerId: string;
  const config = (withMappings: boolean): Record<string, unknown> => ({
    ...BACKENDS['host-gw'].conflist(lab.state, n1),
    capabilities: { portMappings: true },
    ...(withMappings
      ? {
          runtimeConfig: {
            portMappings: [
              { HostPort: 31080, ContainerPort: 8080, Protocol: 'tcp', HostIP: '' },
              { HostPort: 31053, ContainerPort: 8053, Protocol: 'udp', HostIP: '' },
            ],
          },
        }
      : {}),
  });
  const cni = (command: 'ADD' | 'DEL', withMappings: boolean) =>
    invokeCni(
      lab.state.cniBinary,
      { command, containerId, netns: `/run/netns/${podNetns}`, ifname: 'eth0', path: [path.dirname(lab.state.cniBinary)], config: config(withMappings) },
      new Netns(n1.netns),
    );

  beforeAll(async () => {
    [n1, n2] = lab.state.nodes as [NodeRecord, NodeRecord];
    podNetns = `${n1.netns}-hp`;
    containerId = `${'c'.repeat(56)}${Date.now().toString(16).slice(-8)}`;
    await createNetns(podNetns);
    cniOk(await cni('ADD', true), 'host-gw ADD with host ports');
    await serve(podNetns, TCP_SERVER);
    await serve(podNetns, UDP_SERVER);
  });

  it('TCP and UDP host ports are reached from the other node with its own address as source', async () => {
    expect(await seen(n2, TCP_CLIENT, n1.address, 31080)).toBe(n2.address);
    expect(await seen(n2, UDP_CLIENT, n1.address, 31053)).toBe(n2.address);
  });

  it('after `nft flush ruleset` on the node, podnetd puts the host-port table back within a reconcile period', async () => {
    await new Netns(n1.netns).execOk('nft', ['flush', 'ruleset']);
    expect(await seen(n2, TCP_CLIENT, n1.address, 31080)).toMatch(/^unreached/);
    const flushedAt = Date.now();
    let answer = '';
    while (Date.now() - flushedAt < 5_000) {
      answer = await seen(n2, TCP_CLIENT, n1.address, 31080);
      if (!answer.startsWith('unreached')) break;
      await sleep(200);
    }
    expect(answer, 'host port answers again (agent reconcile period 1 s)').toBe(n2.address);
    const table = await new Netns(n1.netns).execOk('nft', ['list', 'table', 'inet', 'podnet_hostports']);
    expect(table).toContain(`tcp . 31080 comment "${lab.state.cniNetwork}|${containerId}/eth0"`);
  });

  it('DEL without the mappings removes them', async () => {
    cniOk(await cni('DEL', false), 'host-gw DEL');
    const table = await new Netns(n1.netns).exec('nft', ['list', 'table', 'inet', 'podnet_hostports']);
    expect(table.stdout).not.toContain(containerId);
    expect(await seen(n2, TCP_CLIENT, n1.address, 31080)).toMatch(/^unreached/);
  });
});
