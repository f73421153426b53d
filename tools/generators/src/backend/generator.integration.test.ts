// The generator end to end, on a temporary copy of this workspace (the working tree as git sees
// it, without node_modules, dist or .git; `pnpm install --prefer-offline` links it from the store):
// refusals, then `nx g @podnet/generators:backend png-gen`, then the generated package builds,
// typechecks, fails its tests with the message saying what to implement — and passes them once
// peerRoutes() is written — and `nx run cni-app:build:png-gen` makes a working dist/bin/podnet-png-gen.
// Bounded: only the new package, the one executable, and typechecks of the files the wiring edits.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../..');
const NAME = 'png-gen';
const PKG = `packages/backend-${NAME}`;

let copy: string;
/** The workspace's pnpm store: the copy installs from it (a copy on another disk would get a store of its own). */
let store: string;

/**
 * `pnpm install` in the copy. Every package is in the store already, but adding an importer makes
 * pnpm re-resolve, and that needs registry metadata, which a frozen install (CI's, on a fresh
 * machine) never caches: `--offline` then fails with ERR_PNPM_NO_OFFLINE_META. `--prefer-offline`
 * fetches only that metadata.
 */
const install = () => ok('pnpm', ['install', '--prefer-offline', '--no-frozen-lockfile', '--reporter=append-only', '--store-dir', store]);

/** The environment of a command run in the copy: none of this run's npm/nx task variables. */
function env(): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm_|NX_|PNPM_|VITEST)/i.test(k)) clean[k] = v;
  return { ...clean, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', CI: 'true' };
}

function run(file: string, args: string[], cwd = copy): { code: number; out: string } {
  const r = spawnSync(file, args, { cwd, env: env(), encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function ok(file: string, args: string[], cwd = copy): string {
  const r = run(file, args, cwd);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} (in ${cwd}) exited ${r.code}:\n${r.out}`);
  return r.out;
}

const nx = (...args: string[]) => run(path.join(copy, 'node_modules/.bin/nx'), args);
const read = (file: string) => readFileSync(path.join(copy, file), 'utf8');

beforeAll(() => {
  copy = mkdtempSync(path.join(tmpdir(), 'png-gen-'));
  store = ok('pnpm', ['store', 'path'], repoRoot).trim();
  // Tracked and untracked-but-not-ignored files: the tree a contributor has, without build output.
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(path.join(repoRoot, f)) && statSync(path.join(repoRoot, f)).isFile());
  for (const f of files) {
    mkdirSync(path.dirname(path.join(copy, f)), { recursive: true });
    writeFileSync(path.join(copy, f), readFileSync(path.join(repoRoot, f)), { mode: statSync(path.join(repoRoot, f)).mode });
  }
  // A commit to compare against: a refused run must leave `git status` clean.
  ok('git', ['init', '-q']);
  ok('git', ['add', '-A']);
  ok('git', ['-c', 'user.name=png', '-c', 'user.email=png@localhost', 'commit', '-q', '--no-verify', '-m', 'copy']);
  install();
}, 300_000);

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('nx g @podnet/generators:backend', { timeout: 240_000 }, () => {
  it.each([
    ['host-gw', /"host-gw" exists: packages\/backend-host-gw is already there/],
    ['ipam', /"ipam" is taken: podnet-ipam is an executable/],
    ['Bad_Name', /"Bad_Name" is not a valid backend name/],
  ])('refuses %s and writes nothing', (name, message) => {
    const r = nx('g', '@podnet/generators:backend', name, '--skipInstall');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(message);
    expect(ok('git', ['status', '--porcelain', '--untracked-files=all', '--', 'packages', 'apps', 'tools/lab', '.changeset'])).toBe('');
  });

  it('scaffolds the package and wires it into apps/cni, podnetd, the lab and a changeset', () => {
    const r = nx('g', '@podnet/generators:backend', NAME, '--skipInstall');
    expect(r.code, r.out).toBe(0);
    const pkg = JSON.parse(read(`${PKG}/package.json`)) as { name: string; exports: Record<string, Record<string, string>> };
    expect(pkg.name).toBe(`@podnet/backend-${NAME}`);
    expect(pkg.exports['.']).toEqual({ '@podnet/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' });
    for (const f of [
      'tsconfig.json',
      'tsconfig.build.json',
      'vitest.config.ts',
      'README.md',
      'src/index.ts',
      'src/node/routes.ts',
      'src/node/node-half.ts',
      'src/pod/pod-half.ts',
    ]) {
      expect(existsSync(path.join(copy, PKG, f)), f).toBe(true);
    }
    expect(read(`${PKG}/src/index.ts`)).toContain('satisfies Backend');
    expect(read(`${PKG}/src/pod/pod-half.ts`)).toContain('createHostGwPodHalf({ ...options, leaseBackend: LEASE_BACKEND })');
    expect(JSON.parse(read('apps/cni/package.json')).dependencies[`@podnet/backend-${NAME}`]).toBe('workspace:*');
    expect(JSON.parse(read('apps/cni/project.json')).targets.build.configurations[NAME]).toEqual({ executables: `podnet-${NAME}` });
    expect(JSON.parse(read('apps/agent/package.json')).dependencies[`@podnet/backend-${NAME}`]).toBe('workspace:*');
    expect(read('apps/agent/src/backends.ts')).toContain(`'${NAME}': async () => (await import('@podnet/backend-${NAME}')).backend.node,`);
    expect(read('apps/agent/src/cni-service.ts')).toContain(`import { createPngGenPodHalf } from '@podnet/backend-${NAME}';`);
    expect(read('apps/agent/src/cni-service.ts')).toContain(`'${NAME}': createPngGenPodHalf(shared),`);
    expect(read('tools/lab/src/cluster/state.ts')).toMatch(new RegExp(`export type LabBackend = .*\\| '${NAME}';`));
    expect(read('tools/lab/src/cluster/backends.ts')).toContain(`'${NAME}': leaseFileBackend('podnet-${NAME}', 150),`);
    expect(read(`.changeset/backend-${NAME}.md`)).toContain(`"@podnet/backend-${NAME}": minor`);
    // A second run refuses: the name exists now.
    expect(nx('g', '@podnet/generators:backend', NAME, '--skipInstall').out).toMatch(/exists: packages\/backend-png-gen is already there/);
  });

  it('the result passes lint and the format check, builds and typechecks (and so do the files the wiring edited)', () => {
    install();
    const biome = path.join(copy, 'node_modules/.bin/biome');
    ok(biome, ['lint', '--error-on-warnings', PKG, 'apps/agent/src/backends.ts', 'apps/agent/src/cni-service.ts', 'tools/lab/src/cluster/backends.ts']);
    ok(biome, ['format', PKG, 'apps/cni/project.json', 'apps/cni/package.json', 'apps/agent/package.json']);
    const built = nx('run-many', '-p', `@podnet/backend-${NAME}`, '-t', 'build', 'typecheck', '--excludeTaskDependencies', '--outputStyle=stream');
    expect(built.code, built.out).toBe(0);
    expect(existsSync(path.join(copy, PKG, 'dist/index.js'))).toBe(true);
    ok(path.join(copy, 'node_modules/.bin/tsc'), ['-p', 'apps/agent/tsconfig.json', '--noEmit']);
    ok(path.join(copy, 'node_modules/.bin/tsc'), ['-p', 'tools/lab/tsconfig.json', '--noEmit']);
  });

  it('its tests fail saying what to implement, and pass once peerRoutes() is written', () => {
    const failing = nx('run', `@podnet/backend-${NAME}:test`, '--excludeTaskDependencies', '--outputStyle=stream');
    expect(failing.code).not.toBe(0);
    expect(failing.out).toContain(`backend-${NAME}: implement peerRoutes() in packages/backend-${NAME}/src/node/routes.ts`);
    // What a contributor would write first: each peer subnet via the peer's node address of its family.
    writeFileSync(
      path.join(copy, PKG, 'src/node/routes.ts'),
      [
        "import type { PeerRoutes, Underlay } from '@podnet/backend-host-gw';",
        "import type { NodeLease } from '@podnet/core/backend';",
        'export function peerRoutes(_local: NodeLease, peers: readonly NodeLease[], underlay: Underlay): PeerRoutes {',
        '  const routes = peers.flatMap((p) =>',
        '    p.subnets.map((s) => {',
        "      const [dst = '', len = '0'] = s.split('/');",
        "      const gateway = p.nodeIps.find((ip) => ip.includes(':') === dst.includes(':'));",
        '      return { dst, dstLen: Number(len), oif: underlay.index, ...(gateway ? { gateway } : {}) };',
        '    }),',
        '  );',
        '  return { routes, skipped: [] };',
        '}',
        '',
      ].join('\n'),
    );
    const passing = nx('run', `@podnet/backend-${NAME}:test`, '--excludeTaskDependencies', '--outputStyle=stream');
    expect(passing.code, passing.out).toBe(0);
  });

  it('nx run cni-app:build:png-gen makes dist/bin/podnet-png-gen, which answers VERSION', () => {
    const built = nx('run', `cni-app:build:${NAME}`, '--excludeTaskDependencies', '--outputStyle=stream');
    expect(built.code, built.out).toBe(0);
    const exe = path.join(copy, 'dist/bin', `podnet-${NAME}`);
    const version = spawnSync(exe, [], {
      input: '{"cniVersion":"1.0.0"}',
      env: { CNI_COMMAND: 'VERSION', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      encoding: 'utf8',
    });
    expect(version.status, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).supportedVersions).toContain('1.1.0');
    // By hand (no CNI_COMMAND) it names its backend.
    const about = spawnSync(exe, [], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, encoding: 'utf8' });
    expect(`${about.stdout}${about.stderr}`).toContain(`${NAME} backend`);
  });
});
