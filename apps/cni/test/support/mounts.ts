// The mounts a runtime left below a test's temp dir (container shm, snapshots) when it stopped
// half-way: the fixtures unmount them before removing the dir, or rm would fail with EBUSY.
import { readFile } from 'node:fs/promises';

/** Mount points strictly below `dir`, deepest first (so nested mounts come off before their parents). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
