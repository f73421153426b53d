// Runs once before the suites: root and the tools they drive must be there, and podnetd must be
// built (the integration suite runs dist/bin/podnetd exactly as the lab and a DaemonSet do).
// Under nx the `test` target depends on `build`; run directly (`npx vitest run`), it builds
// through nx too (cached: about a second when nothing changed).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { sweepNetns } from './node-netns.js';
import { REPO_ROOT } from './paths.js';

const TOOLS: Array<[string, string]> = [
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/sbin/nft', 'nftables'],
  ['/usr/bin/nsenter', 'util-linux'],
];

export default function setup(): void {
  if (process.getuid?.() !== 0) throw new Error('the agent suites create network namespaces, routes and nft tables: run them as root');
  for (const [file, pkg] of TOOLS) {
    try {
      accessSync(file, constants.X_OK);
    } catch {
      throw new Error(`missing ${file} (Debian package ${pkg}): run \`pnpm setup\``);
    }
  }
  if (process.env['NX_TASK_TARGET_PROJECT'] === undefined) {
    const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['run', '@podnet/agent:build', '--outputStyle=stream'], {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
    });
    if (r.status !== 0) throw new Error(`nx run @podnet/agent:build failed (exit ${r.status ?? r.signal})`);
  }
  try {
    accessSync(join(REPO_ROOT, 'dist', 'bin', 'podnetd'), constants.X_OK);
  } catch {
    throw new Error('dist/bin/podnetd missing after the build: run `pnpm build`');
  }
  // Namespaces an earlier run left when it was killed (every suite removes its own otherwise).
  sweepNetns('pna-');
}
