// `@podnet/core/ipam` must load nothing outside src/ipam/ but its npm libraries (level, ip-cidr and
// what they depend on) and node: built-ins: a downstream project imports the IPAM alone, without
// kernel, netlink or CNI-executable code. Bun bundles the entry exactly as the shipped executables
// are built and lists, in its metafile, every module the bundle contains (static and literal
// dynamic imports; type-only imports are erased, as at run time).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));
const bun = join(packageDir, '..', '..', 'node_modules', 'bun', 'bin', 'bun.exe');
const ipamDir = join(packageDir, 'src', 'ipam') + sep;
const ALLOWED_LIBRARIES = ['level', 'ip-cidr'];

let outDir: string;
beforeAll(async () => {
  if (!existsSync(bun)) throw new Error(`${bun} is missing: run pnpm install at the workspace root (bun is a root devDependency)`);
  outDir = await mkdtemp(join(tmpdir(), 'pnt-ipam-'));
});
afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

/** Directories of `names` and everything they depend on, following the installed (pnpm) layout. */
function dependencyClosure(names: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (name: string, fromDir: string): void => {
    // A dependency sits next to its dependent (pnpm's .pnpm/<pkg>/node_modules) or inside it.
    let modules = fromDir;
    while (basename(modules) !== 'node_modules' && dirname(modules) !== modules) modules = dirname(modules);
    const candidates = [join(modules, name), join(fromDir, 'node_modules', name)];
    const found = candidates.find((c) => existsSync(join(c, 'package.json')));
    if (found === undefined) throw new Error(`cannot find ${name} from ${fromDir}`);
    const dir = realpathSync(found);
    if (seen.has(dir)) return;
    seen.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir);
  };
  for (const name of names) visit(name, join(packageDir, 'node_modules', '.placeholder'));
  return [...seen].map((d) => d + sep);
}

interface Metafile {
  inputs: Record<string, { imports: Array<{ path: string; external?: boolean }> }>;
}

/** Every module the bundle of `entry` loads that is not allowed for the IPAM entry. */
async function violations(entry: string): Promise<{ modules: string[]; outside: string[] }> {
  const meta = join(outDir, `${basename(entry)}.meta.json`);
  await promisify(execFile)(bun, ['build', entry, '--target=node', `--outdir=${join(outDir, 'out')}`, `--metafile=${meta}`], { cwd: packageDir });
  const metafile = JSON.parse(await readFile(meta, 'utf8')) as Metafile;
  const allowed = dependencyClosure(ALLOWED_LIBRARIES);
  const modules = Object.keys(metafile.inputs).map((p) => realpathSync(resolve(packageDir, p)));
  const outside = modules.filter((m) => !(m.startsWith(ipamDir) && !m.endsWith('.test.ts')) && !allowed.some((dir) => m.startsWith(dir)));
  // Anything left external must be a Node built-in (libraries write 'fs', our code 'node:fs').
  for (const input of Object.values(metafile.inputs)) {
    for (const imported of input.imports) {
      const builtin = imported.path.startsWith('node:') || builtinModules.includes(imported.path);
      if (imported.external === true && !builtin) outside.push(`external ${imported.path}`);
    }
  }
  return { modules, outside };
}

describe('@podnet/core/ipam import isolation', () => {
  it('loads only src/ipam, level, ip-cidr (and their dependencies) and node: built-ins', async () => {
    const { modules, outside } = await violations('src/ipam/index.ts');
    expect(modules.some((m) => m.endsWith(`${sep}src${sep}ipam${sep}store.ts`))).toBe(true);
    expect(modules.some((m) => m.includes(`${sep}classic-level${sep}`))).toBe(true);
    expect(outside).toEqual([]);
  });

  it('loads the LevelDB addon only when a store is opened, not on import or config parsing', async () => {
    // Under Bun, as the executables run: a process that only parses a config (VERSION, config
    // errors, a delegated IPAM) must not map the addon; opening a store maps it.
    const script = [
      "import { readFileSync } from 'node:fs';",
      "const ipam = await import('./src/ipam/index.ts');",
      "const mapped = () => readFileSync('/proc/self/maps', 'utf8').includes('.node');",
      `const config = ipam.parseIpamConfig({ name: 'pnt-ipam-lazy', ipam: { type: 'podnet-ipam', dataDir: ${JSON.stringify(outDir)}, subnet: '10.9.0.0/24' } });`,
      'const before = mapped();',
      'await ipam.list(config);',
      'const afterList = mapped();',
      'await ipam.status(config);',
      'console.log(JSON.stringify({ before, afterList, afterOpen: mapped() }));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(bun, ['-e', script], { cwd: packageDir });
    // list() of a store that does not exist yet opens nothing either.
    expect(JSON.parse(stdout)).toEqual({ before: false, afterList: false, afterOpen: true });
  });

  it('would notice a module from outside (control: the CNI plugin entry imports src/cni)', async () => {
    const { outside } = await violations('src/ipam-plugin/index.ts');
    expect(outside.some((m) => m.includes(`${sep}src${sep}cni${sep}`))).toBe(true);
  });
});
