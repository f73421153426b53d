// The release flow's first step, `changeset version`, on a temporary copy of the workspace's
// manifests and pending changesets (a throwaway git repository: changesets reads commit info):
// it must run cleanly, consume the changesets, move core, cluster, portmap and every backend to
// one version (the fixed group in .changeset/config.json) and keep workspace: ranges for pnpm
// to rewrite at pack time. Nothing is bumped in the real tree.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}

let copy: string;
let before: Map<string, Manifest>;

function manifests(root: string): Map<string, Manifest> {
  const out = new Map<string, Manifest>();
  for (const group of ['packages', 'apps', 'tools']) {
    for (const dir of readdirSync(path.join(root, group))) {
      const file = path.join(root, group, dir, 'package.json');
      if (existsSync(file)) out.set(`${group}/${dir}`, JSON.parse(readFileSync(file, 'utf8')) as Manifest);
    }
  }
  return out;
}

function git(args: string[]): void {
  execFileSync('git', ['-c', 'user.name=png', '-c', 'user.email=png@localhost', ...args], { cwd: copy, stdio: 'ignore' });
}

beforeAll(() => {
  copy = mkdtempSync(path.join(tmpdir(), 'png-changeset-'));
  for (const f of ['package.json', 'pnpm-workspace.yaml', '.changeset']) cpSync(path.join(repoRoot, f), path.join(copy, f), { recursive: true });
  before = manifests(repoRoot);
  for (const dir of before.keys()) {
    mkdirSync(path.join(copy, dir), { recursive: true });
    cpSync(path.join(repoRoot, dir, 'package.json'), path.join(copy, dir, 'package.json'));
  }
  // The changelog generator and the CLI resolve from the workspace's own install.
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
  // One patch of core alone, besides whatever is pending: the fixed group must carry the rest along.
  writeFileSync(path.join(copy, '.changeset/png-release-check.md'), '---\n"@podnet/core": patch\n---\n\nRelease-flow check.\n');
  git(['init', '-q']);
  git(['add', '-A']);
  git(['commit', '-q', '--no-verify', '-m', 'copy']);
});

afterAll(() => {
  if (copy) rmSync(copy, { recursive: true, force: true });
});

describe('changeset version (release flow)', () => {
  it('runs cleanly and moves the fixed group (core, cluster, portmap, backends) to one version', () => {
    const pending = readdirSync(path.join(copy, '.changeset')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pending).toContain('png-release-check.md');
    execFileSync(path.join(repoRoot, 'node_modules/.bin/changeset'), ['version'], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

    expect(readdirSync(path.join(copy, '.changeset')).filter((f) => pending.includes(f))).toEqual([]);
    const after = manifests(copy);
    const fixed = [...after.entries()].filter(([, m]) => /^@podnet\/(core|cluster|portmap|backend-.+)$/.test(m.name));
    expect(fixed.map(([, m]) => m.name).sort()).toEqual(expect.arrayContaining(['@podnet/core', '@podnet/cluster', '@podnet/backend-host-gw']));
    const versions = new Set(fixed.map(([, m]) => m.version));
    expect(versions.size, `fixed group versions: ${[...versions].join(', ')}`).toBe(1);
    const [version] = versions;
    expect(version).not.toBe(before.get('packages/core')?.version);
    for (const [dir, m] of fixed) {
      expect(existsSync(path.join(copy, dir, 'CHANGELOG.md')), `${m.name} CHANGELOG.md`).toBe(true);
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
        if (dep.startsWith('@podnet/')) expect(range, `${m.name} → ${dep}`).toBe('workspace:*');
      }
    }
    expect(readFileSync(path.join(copy, 'packages/core/CHANGELOG.md'), 'utf8')).toContain(`## ${version}`);
  });
});
