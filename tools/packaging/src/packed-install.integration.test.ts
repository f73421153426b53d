// The library packages as a downstream project gets them: `pnpm pack` of each (which rewrites
// `workspace:*` to versions), all tarballs installed at once with npm into a fresh project outside
// the workspace (their dependencies come from the registry), then plain Node runs the examples —
// no workspace links, no @podnet/source condition, only what `files` and `exports` publish.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const fixtures = path.resolve(here, '../fixtures');

/** The published library packages (workspace folder → package name). */
const LIBRARIES: Record<string, string> = {
  'packages/core': '@podnet/core',
  'packages/cluster': '@podnet/cluster',
  'packages/portmap': '@podnet/portmap',
  'packages/backend-bridge': '@podnet/backend-bridge',
  'packages/backend-host-gw': '@podnet/backend-host-gw',
  'packages/backend-vxlan': '@podnet/backend-vxlan',
};

let work: string;
let project: string;
const tarballs = new Map<string, string>();

function run(file: string, args: string[], cwd: string): string {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Runs one fixture with this Node (the consumer's runtime) in the consumer project; its last line is JSON. */
function node(fixture: string, args: string[] = []): Record<string, unknown> {
  copyFileSync(path.join(fixtures, fixture), path.join(project, fixture));
  const out = run(process.execPath, [fixture, ...args], project)
    .trim()
    .split('\n');
  return JSON.parse(out[out.length - 1] ?? 'null') as Record<string, unknown>;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'png-pack-'));
  const packs = path.join(work, 'tarballs');
  mkdirSync(packs);
  for (const [dir, name] of Object.entries(LIBRARIES)) {
    const before = new Set(readdirSync(packs));
    run('pnpm', ['pack', '--pack-destination', packs], path.join(repoRoot, dir));
    const made = readdirSync(packs).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (made.length !== 1) throw new Error(`pnpm pack of ${name} made ${made.length} tarballs: ${made.join(', ')}`);
    tarballs.set(name, path.join(packs, made[0]!));
  }
  project = path.join(work, 'consumer');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'png-consumer', private: true, type: 'module' }, null, 2)}\n`);
  // All at once: the tarballs depend on each other by version, which no registry has. Node's types
  // (the workspace's version) for the TypeScript consumer below.
  const rootManifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const nodeTypes = `@types/node@${rootManifest.devDependencies['@types/node']}`;
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs.values(), nodeTypes], project);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('packed packages installed with npm outside the workspace', () => {
  it('the tarballs publish dist and sources, never tests, and no workspace: ranges', () => {
    for (const [name, file] of tarballs) {
      const files = run('tar', ['tzf', file], work).split('\n').filter(Boolean);
      expect(
        files.some((f) => /^package\/dist\/.*index\.js$/.test(f) || f === 'package/dist/backend.js'),
        `${name} has no dist/**/index.js`,
      ).toBe(true);
      expect(
        files.filter((f) => f.endsWith('.test.ts') || f.endsWith('.test.js')),
        `${name} publishes tests`,
      ).toEqual([]);
      const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules', name, 'package.json'), 'utf8')) as {
        dependencies?: Record<string, string>;
        engines?: { node?: string };
      };
      expect(manifest.engines?.node, `${name} engines.node`).toMatch(/>=20/);
      for (const [dep, range] of Object.entries(manifest.dependencies ?? {})) expect(range, `${name} → ${dep}`).not.toMatch(/^workspace:/);
    }
  });

  it('@podnet/core/ipam allocates, releases and garbage-collects on a temp store', () => {
    const r = node('ipam.mjs');
    expect(r['a']).toEqual(['10.77.0.2/28', 'fd77::2/120']);
    expect(r['b']).toEqual(['10.77.0.3/28', 'fd77::3/120']);
    expect(r['again']).toEqual(r['a']);
    expect(r['released']).toEqual(['10.77.0.2', 'fd77::2']);
    // Round robin: the next free address after the last one handed out, not the released one.
    expect(r['c']).toEqual(['10.77.0.4/28', 'fd77::4/120']);
    expect(r['collected']).toEqual(['png-b 10.77.0.3', 'png-b fd77::3']);
    expect(r['left']).toEqual(['png-c 10.77.0.4', 'png-c fd77::4']);
  });

  it("@podnet/cluster's local lease store acquires, lists and releases", () => {
    const r = node('lease-store.mjs');
    expect(r['a']).toMatch(/^10\.78\.\d+\.0\/24$/);
    expect(r['b']).toMatch(/^10\.78\.\d+\.0\/24$/);
    expect(r['a']).not.toBe(r['b']);
    expect(r['listed']).toEqual([`png-a ${r['a']}`, `png-b ${r['b']}`]);
    expect(r['after']).toEqual(['png-b']);
  });

  it('a strict TypeScript consumer typechecks against the published declarations (skipLibCheck off)', () => {
    copyFileSync(path.join(fixtures, 'consumer.ts'), path.join(project, 'consumer.ts'));
    const tsconfig = {
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] },
      include: ['consumer.ts'],
    };
    writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    // The workspace's compiler, on the consumer's node_modules only (no paths, no @podnet/source condition).
    expect(run(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], project)).toBe('');
  });

  it('every published export subpath loads in Node without the @podnet/source condition', () => {
    const r = node('exports.mjs', [...tarballs.keys()]);
    const loaded = r['loaded'] as string[];
    for (const specifier of [
      '@podnet/core/ipam',
      '@podnet/core/cni',
      '@podnet/cluster',
      '@podnet/cluster/lease-file',
      '@podnet/backend-host-gw',
      '@podnet/backend-vxlan',
    ]) {
      expect(
        loaded.find((l) => l.startsWith(`${specifier} `)),
        specifier,
      ).toBeDefined();
    }
    for (const line of loaded) expect(Number(line.split(' ')[1]), `${line.split(' ')[0]} exports nothing`).toBeGreaterThan(0);
  });
});
