// Runs once before the e2e suites: the machine must be able to run them (root, iproute2, nft,
// ping, nsenter, the reference plugins) and the executables under test must be built. A missing
// prerequisite fails the run with what to install; nothing is skipped.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@podnet/lab';

const TOOLS: Array<[string, string]> = [
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/sbin/nft', 'nftables'],
  ['/usr/bin/nsenter', 'util-linux'],
  ['/usr/bin/ping', 'iputils-ping'],
  ['/usr/lib/cni/bridge', 'containernetworking-plugins'],
  ['/usr/lib/cni/host-local', 'containernetworking-plugins'],
];

function executableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  if (process.getuid?.() !== 0) throw new Error('the CNI e2e tests create namespaces, links and nft tables: run them as root');
  const missing = TOOLS.filter(([file]) => !executableFile(file));
  if (missing.length) {
    throw new Error(`missing ${missing.map(([f, p]) => `${f} (Debian package ${p})`).join(', ')}: run \`pnpm setup\` or apt-get install them`);
  }
  ensureBuilt();
}

/**
 * Under nx the `test` target already depends on `build`. Run directly (`npx vitest run`), build
 * through nx too: cached, so it costs about a second when nothing changed, and the tests never
 * run stale executables.
 */
function ensureBuilt(): void {
  const root = repoRoot();
  const binaries = ['podnet-bridge', 'podnet-host-gw', 'podnet-ipam', 'podnet-portmap', 'podnetd'].map((name) => path.join(root, 'dist', 'bin', name));
  if (process.env.NX_TASK_TARGET_PROJECT === undefined) {
    // podnetd (thick mode) too: PODNET_E2E_MODE=thick runs the suites through it.
    const r = spawnSync(path.join(root, 'node_modules', '.bin', 'nx'), ['run-many', '-t', 'build', '-p', 'cni-app', '@podnet/agent', '--outputStyle=stream'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    });
    if (r.status !== 0) throw new Error(`nx build of cni-app and @podnet/agent failed (exit ${r.status ?? r.signal})`);
  }
  const absent = binaries.filter((file) => !executableFile(file));
  if (absent.length) throw new Error(`${absent.join(', ')} missing after the build: run \`pnpm build\``);
}
