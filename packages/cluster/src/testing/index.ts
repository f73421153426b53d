// @podnet/cluster/testing — test support for other workspace packages (the lab, the agent, the
// benchmarks). Resolvable only from source (the "@podnet/source" condition) and not in the
// package's files. The contract suite (contract.ts, which imports vitest) is not re-exported.
export { startEtcd } from './etcd-server.js';
export type { EtcdServer, StartEtcdOptions, TlsFiles } from './etcd-server.js';
export { killAll, spawnTracked, track } from './processes.js';
export { startTcpProxy } from './tcp-proxy.js';
export type { TcpProxy } from './tcp-proxy.js';
export { makeLeases, seedLeases } from './seed.js';
export type { MakeLeasesOptions, SeedLease } from './seed.js';
