// Opening the lease store a `--store` spec names (`local:<dir>`, `etcd:<url>,…` + TLS files).
import { openLeaseStore, parseStoreSpec } from '@podnet/cluster';
import type { LeaseStore } from '@podnet/cluster';
import type { AgentOptions } from './options.js';

export async function openStore(options: Pick<AgentOptions, 'store' | 'etcdTls'>): Promise<LeaseStore> {
  return openLeaseStore(parseStoreSpec(options.store, options.etcdTls ? { tls: options.etcdTls } : {}));
}
