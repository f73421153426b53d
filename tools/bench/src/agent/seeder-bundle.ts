// The etcd seeder must run under Node (etcd3's gRPC fails under Bun) but lives in TypeScript and
// uses the cluster package's source-only testing export, so it is bundled for Node with Bun's
// bundler. Its npm dependencies stay external and resolve from @podnet/cluster's node_modules,
// where the bundle is written (a throwaway .cache folder); @podnet/core comes from its dist.
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cluster = join(here, '..', '..', '..', '..', 'packages', 'cluster');

export async function bundleEtcdSeeder(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = join(cluster, 'node_modules', '.cache', `pnb-seeder-${process.pid}`);
  await mkdir(dir, { recursive: true });
  const result = await Bun.build({
    entrypoints: [join(here, 'etcd-seeder.ts')],
    outdir: dir,
    target: 'node',
    conditions: ['@podnet/source'],
    external: ['etcd3', 'cockatiel', 'ip-address', '@podnet/core', '@podnet/core/*'],
    naming: 'seeder.mjs',
  });
  if (!result.success) throw new Error(`bundling the etcd seeder: ${result.logs.map(String).join('; ')}`);
  return { path: join(dir, 'seeder.mjs'), remove: () => rm(dir, { recursive: true, force: true }) };
}
