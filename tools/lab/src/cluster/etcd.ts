// The lab's etcd (Debian's etcd-server): one member inside the fabric namespace, listening on the
// fabric's own underlay address, so every node's agent reaches it the way a real cluster's agents
// reach their etcd — over the underlay. Peer traffic stays on the fabric's loopback.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Netns } from '../netns.js';
import { alive, logTail, spawnDetached, stopProcess } from './process.js';
import type { EtcdRecord } from './state.js';
import { FABRIC_ADDRESS } from './topology.js';

const CLIENT_PORT = 2379;

export async function startEtcd(fabric: string, dir: string): Promise<EtcdRecord> {
  const dataDir = path.join(dir, 'etcd');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const endpoint = `http://${FABRIC_ADDRESS}:${CLIENT_PORT}`;
  const peer = 'http://127.0.0.1:2380';
  const args = [
    '--name',
    'lab',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `lab=${peer}`,
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];
  const record: EtcdRecord = { pid: 0, endpoint, dataDir, log: path.join(dir, 'etcd.log'), args };
  return runEtcd(fabric, record);
}

/** Starts (or restarts, on the same data) the member of `record`; resolves once it is healthy. */
export async function runEtcd(fabric: string, record: EtcdRecord): Promise<EtcdRecord> {
  const pid = spawnDetached(fabric, 'etcd', record.args, record.log);
  const started = { ...record, pid };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!(await alive(pid))) throw new Error(`etcd in ${fabric} exited:\n${await logTail(record.log)}`);
    const r = await etcdctl(fabric, started, ['endpoint', 'health']);
    if (r.code === 0) return started;
    if (Date.now() > deadline) throw new Error(`etcd in ${fabric} not healthy after 20 s: ${r.stderr}\n${await logTail(record.log)}`);
    await sleep(100);
  }
}

export async function stopEtcd(record: EtcdRecord, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await stopProcess(record.pid, signal, 10_000, 'etcd');
}

/** Runs etcdctl (API v3) against the lab's etcd from inside the fabric namespace. */
export function etcdctl(fabric: string, record: EtcdRecord, args: readonly string[]) {
  return new Netns(fabric).exec('etcdctl', ['--endpoints', record.endpoint, '--dial-timeout', '2s', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' },
    timeoutMs: 10_000,
  });
}

/** The store's current revision. */
export async function etcdRevision(fabric: string, record: EtcdRecord): Promise<number> {
  const r = await etcdctl(fabric, record, ['endpoint', 'status', '-w', 'json']);
  if (r.code !== 0) throw new Error(`etcdctl endpoint status failed: ${r.stderr.trim()}`);
  const rows = JSON.parse(r.stdout) as Array<{ Status: { header: { revision: number } } }>;
  const revision = rows[0]?.Status.header.revision;
  if (revision === undefined) throw new Error(`etcdctl endpoint status: no revision in ${r.stdout}`);
  return revision;
}

/** Compacts the history up to the current revision: every older revision is gone. */
export async function etcdCompact(fabric: string, record: EtcdRecord): Promise<number> {
  const revision = await etcdRevision(fabric, record);
  const r = await etcdctl(fabric, record, ['compact', String(revision), '--physical']);
  if (r.code !== 0) throw new Error(`etcdctl compact ${revision} failed: ${r.stderr.trim()}`);
  return revision;
}
