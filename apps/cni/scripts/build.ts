// Builds the podnet CNI executables into <repo>/dist/bin with `bun build --compile`.
//
//   bun scripts/build.ts                      every executable (same as --all)
//   bun scripts/build.ts --backend bridge     only dist/bin/podnet-bridge (repeatable)
//   bun scripts/build.ts --ipam               only dist/bin/podnet-ipam
//   bun scripts/build.ts podnet-portmap       only dist/bin/podnet-portmap (the chained host-port plugin)
//   bun scripts/build.ts podnet-bridge        by executable name; 'podnet-*' means all
//
// The backend is chosen here, at build time: for backend <name> the script writes a short
// entry that imports `@podnet/backend-<name>` and hands its `backend.pod` to the CNI
// skel (or runs one of its `commands`, e.g. repair), so the bundle holds that backend only. A backend is buildable once it is a dependency of
// this package; nothing else in the app names it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { entrySource, type Executable } from './entries.ts';
import { embedPrebuiltAddons } from './embed-addons.ts';

const appDir = path.resolve(import.meta.dir, '..');
const repoRoot = path.resolve(appDir, '../..');
const outDir = path.join(repoRoot, 'dist', 'bin');
// Inside this package's node_modules so the entries resolve workspace packages from here,
// and outside what git and nx look at.
const entryDir = path.join(appDir, 'node_modules', '.cache', 'podnet-entries');

const appPackage = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as {
  version: string;
  dependencies?: Record<string, string>;
};

function availableBackends(): string[] {
  return Object.keys(appPackage.dependencies ?? {})
    .map((dep) => /^@podnet\/backend-([a-z0-9-]+)$/.exec(dep)?.[1])
    .filter((name): name is string => name !== undefined)
    .sort();
}

function allExecutables(): Executable[] {
  return [...availableBackends().map((name): Executable => ({ kind: 'backend', name })), { kind: 'ipam' }, { kind: 'portmap' }];
}

function executableName(exe: Executable): string {
  return exe.kind === 'ipam' ? 'podnet-ipam' : exe.kind === 'portmap' ? 'podnet-portmap' : `podnet-${exe.name}`;
}

function usage(message: string): never {
  console.error(`build: ${message}`);
  console.error('usage: bun scripts/build.ts [--all] [--backend <name>]... [--ipam] [podnet-<name>|podnet-*]...');
  console.error(`backends: ${availableBackends().join(', ') || '(none: add @podnet/backend-<name> to apps/cni dependencies)'}`);
  process.exit(2);
}

/** argv → the executables to build, in a stable order, without duplicates. */
function select(argv: string[]): Executable[] {
  const all = allExecutables();
  const byName = new Map(all.map((exe) => [executableName(exe), exe]));
  const chosen = new Map<string, Executable>();
  const pick = (name: string): void => {
    if (name === 'podnet-*') {
      for (const exe of all) chosen.set(executableName(exe), exe);
      return;
    }
    const exe = byName.get(name);
    if (!exe) usage(`unknown executable "${name}"`);
    chosen.set(name, exe);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') usage(`${flag} needs a value`);
      return v;
    };
    if (flag === '--all') pick('podnet-*');
    else if (flag === '--backend') pick(`podnet-${value()}`);
    else if (flag === '--ipam') {
      if (inline === undefined || inline === 'true') pick('podnet-ipam');
    } else if (flag === '--executables') for (const name of value().split(',')) pick(name.trim());
    else if (flag.startsWith('-')) usage(`unknown option ${flag}`);
    else pick(flag);
  }
  if (chosen.size === 0) pick('podnet-*');
  return all.filter((exe) => chosen.has(executableName(exe)));
}

/** Runs the fresh executable's VERSION the way a runtime probes it: a broken bundle fails the build. */
function smokeTest(file: string): string[] {
  const run = spawnSync(file, [], {
    input: '{"cniVersion":"1.0.0"}',
    env: { CNI_COMMAND: 'VERSION', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    cwd: '/',
    encoding: 'utf8',
    timeout: 20_000,
  });
  let parsed: { supportedVersions?: unknown } | undefined;
  try {
    parsed = JSON.parse(run.stdout) as { supportedVersions?: unknown };
  } catch {
    parsed = undefined;
  }
  if (run.status !== 0 || !Array.isArray(parsed?.supportedVersions)) {
    throw new Error(`${path.basename(file)} VERSION failed (exit ${run.status ?? run.signal}):\n${run.stdout}${run.stderr}`);
  }
  return parsed.supportedVersions as string[];
}

async function build(exe: Executable): Promise<void> {
  const name = executableName(exe);
  const started = performance.now();
  mkdirSync(entryDir, { recursive: true });
  const entry = path.join(entryDir, `${name}.ts`);
  writeFileSync(entry, entrySource(exe, appPackage.version));

  // Written next to the target and renamed over it: a runtime executing the old file keeps its
  // inode (no "text file busy"), and nobody ever sees half a binary.
  const tmp = path.join(outDir, `.${name}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  try {
    const result = await Bun.build({
      entrypoints: [entry],
      target: 'bun',
      format: 'esm',
      // Bytecode: the executable skips parsing at start (a CNI call is one short process).
      bytecode: true,
      minify: true,
      // Chunks per dynamic import: a thin-client call (thick mode) loads only the daemon client,
      // not the plugin's modules, which come in only when the call runs in-process (measured:
      // 12.6 → ~8 ms for a thin call of podnet-bridge; one module graph costs its load at start
      // even when never evaluated).
      splitting: true,
      // Workspace packages resolve to their TypeScript sources (no dist/ needed, never stale).
      conditions: ['@podnet/source'],
      // The Node-only FFI; the executables use bun:ffi (packages/core/src/libc).
      external: ['koffi'],
      plugins: [embedPrebuiltAddons()],
      compile: {
        outfile: tmp,
        // A runtime starts plugins from any working directory: never pick up a stray
        // .env, bunfig.toml, tsconfig.json or package.json from there.
        autoloadDotenv: false,
        autoloadBunfig: false,
        autoloadTsconfig: false,
        autoloadPackageJson: false,
      },
    });
    if (!result.success) {
      throw new Error(`bun build failed for ${name}:\n${result.logs.map(String).join('\n')}`);
    }
    const versions = smokeTest(tmp);
    renameSync(tmp, path.join(outDir, name));
    const size = statSync(path.join(outDir, name)).size;
    console.log(`built dist/bin/${name} (${(size / 2 ** 20).toFixed(1)} MiB, ${Math.round(performance.now() - started)} ms; CNI ${versions.join(' ')})`);
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function main(): Promise<void> {
  const executables = select(process.argv.slice(2));
  mkdirSync(outDir, { recursive: true });
  // Leftovers of an interrupted build (old enough not to belong to a build running now).
  for (const file of readdirSync(outDir)) {
    const tmp = path.join(outDir, file);
    if (/^\.podnet-.*\.tmp$/.test(file) && Date.now() - statSync(tmp).mtimeMs > 3_600_000) rmSync(tmp, { force: true });
  }
  // One at a time: each compile already uses the machine's cores.
  for (const exe of executables) await build(exe);
}

await main();
