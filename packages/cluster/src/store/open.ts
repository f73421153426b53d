// Which store: `openLeaseStore(options)`, and `parseStoreSpec` for podnetd's --store flag.
// The etcd store is imported only when asked for, so a local-only process never loads gRPC.
import { ClusterError } from '../lease/types.js';
import type { LeaseStore } from '../lease/types.js';

export const DEFAULT_ETCD_PREFIX = '/podnet/network';

export interface EtcdTlsFiles {
  /** PEM file paths. */
  ca: string;
  cert: string;
  key: string;
}

export type StoreOptions =
  | { kind: 'local'; dir: string; lockTimeoutMs?: number; pollMs?: number; inotify?: boolean }
  | {
      kind: 'etcd';
      /** e.g. ["https://10.0.0.1:2379"]. */
      endpoints: string[];
      /** Key prefix (default /podnet/network). */
      prefix?: string;
      tls?: EtcdTlsFiles;
      /** Connect timeout (default 5000 ms). */
      dialTimeoutMs?: number;
      /** Deadline of one store call (default 10000 ms). */
      callTimeoutMs?: number;
      /** Full re-list of a watch, to catch what a watch could drop (default 5 min; 0: never). */
      relistIntervalMs?: number;
    };

export async function openLeaseStore(options: StoreOptions): Promise<LeaseStore> {
  if (options.kind === 'local') {
    const { LocalLeaseStore } = await import('../local/local-store.js');
    return new LocalLeaseStore(options.dir, {
      ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
      ...(options.pollMs === undefined ? {} : { pollMs: options.pollMs }),
      ...(options.inotify === undefined ? {} : { inotify: options.inotify }),
    });
  }
  if (options.kind === 'etcd') {
    const { EtcdLeaseStore } = await import('../etcd/etcd-store.js');
    return EtcdLeaseStore.open(options);
  }
  throw new ClusterError('config-invalid', `unknown lease store kind ${JSON.stringify((options as { kind: unknown }).kind)} (expected local or etcd)`);
}

/**
 * `local:<dir>` or `etcd:<url>[,<url>…]` (podnetd's --store). TLS files and the prefix come from
 * their own flags; pass them as `extra`.
 */
export function parseStoreSpec(spec: string, extra: { prefix?: string; tls?: EtcdTlsFiles } = {}): StoreOptions {
  const colon = typeof spec === 'string' ? spec.indexOf(':') : -1;
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'local') {
    if (rest === '' || !rest.startsWith('/'))
      throw new ClusterError('config-invalid', `store ${JSON.stringify(spec)}: expected local:<absolute directory>, e.g. local:/var/lib/podnet/cluster`);
    return { kind: 'local', dir: rest };
  }
  if (kind === 'etcd') {
    const endpoints = rest
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    if (endpoints.length === 0)
      throw new ClusterError('config-invalid', `store ${JSON.stringify(spec)}: expected etcd:<url>[,<url>…], e.g. etcd:https://10.0.0.1:2379`);
    for (const endpoint of endpoints) {
      let url: URL;
      try {
        url = new URL(endpoint);
      } catch {
        throw new ClusterError(
          'config-invalid',
          `store ${JSON.stringify(spec)}: endpoint ${JSON.stringify(endpoint)} is not a URL (expected http(s)://host:port)`,
        );
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ClusterError('config-invalid', `store ${JSON.stringify(spec)}: endpoint ${endpoint} must be http:// or https://`);
      if (url.protocol === 'https:' && extra.tls === undefined)
        throw new ClusterError(
          'config-invalid',
          `store ${JSON.stringify(spec)}: endpoint ${endpoint} is https but no TLS files (CA, certificate, key) were given`,
        );
    }
    return { kind: 'etcd', endpoints, ...(extra.prefix === undefined ? {} : { prefix: extra.prefix }), ...(extra.tls === undefined ? {} : { tls: extra.tls }) };
  }
  throw new ClusterError('config-invalid', `store ${JSON.stringify(spec)}: expected local:<dir> or etcd:<url>[,<url>…]`);
}
