// Run under Node (the etcd3 client's gRPC does not work under Bun): bundled by the agent bench
// with `bun build --target node`, started inside the node's netns. Reads one JSON line on stdin
// — { endpoints, leases } — opens the store, prints "ready", waits for "go", then writes the
// leases with the cluster package's own seedLeases and prints the epoch ms before and after.
import { createInterface } from 'node:readline';
import { openLeaseStore } from '@podnet/cluster';
import { seedLeases } from '@podnet/cluster/testing';
import type { SeedLease } from '@podnet/cluster/testing';

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const next = async (): Promise<string> => {
  const r = await lines.next();
  if (r.done) throw new Error('etcd-seeder: stdin closed');
  return r.value;
};
const epoch = (): number => performance.timeOrigin + performance.now();

const { endpoints, leases } = JSON.parse(await next()) as { endpoints: string[]; leases: SeedLease[] };
const store = await openLeaseStore({ kind: 'etcd', endpoints });
try {
  await store.list(); // connected
  process.stdout.write('ready\n');
  for (;;) {
    const command = await next();
    if (command !== 'go') break;
    const start = epoch();
    await seedLeases(store, leases);
    process.stdout.write(`${JSON.stringify({ start, end: epoch() })}\n`);
  }
} finally {
  await store.close();
}
