// Small programs compiled the way apps/cni compiles podnet's executables (`bun build --compile
// --bytecode --minify`, ESM, workspace sources, no autoloading), run like plugins to split
// podnet's process start-up into what each layer adds, and to give a floor for an ADD/DEL:
//   empty    nothing: the Bun runtime's own start-up
//   skel     + core's CNI skel answering VERSION
//   netlink  + core's netlink and netns (libc through bun:ffi)
//   ipam     + core's IPAM (LevelDB, the classic-level addon)
//   crypto   + node:crypto createHash
//   kernel   only the netlink work of an ADD/DEL (see probes/kernel.ts)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from '@podnet/lab';
import { bunBinary } from './runner-client.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The start-up ladder, in order: each adds one layer to the previous. */
export const STARTUP_PROBES = ['empty', 'skel', 'netlink', 'ipam', 'crypto'] as const;
export type StartupProbe = (typeof STARTUP_PROBES)[number];

export async function compileProbe(name: StartupProbe | 'kernel', dir: string): Promise<string> {
  const outfile = path.join(dir, `probe-${name}`);
  await runOk(
    bunBinary(),
    [
      'build',
      path.join(here, 'probes', `${name}.ts`),
      '--compile',
      '--bytecode',
      '--minify',
      '--format=esm',
      '--target=bun',
      '--conditions=@podnet/source',
      '--external=koffi',
      '--no-compile-autoload-dotenv',
      '--no-compile-autoload-bunfig',
      '--outfile',
      outfile,
    ],
    { cwd: here, timeoutMs: 120_000 },
  );
  return outfile;
}

export async function compileStartupProbes(dir: string): Promise<Array<{ name: StartupProbe; binary: string }>> {
  const out = [];
  // One at a time: each compile already uses both cores.
  for (const name of STARTUP_PROBES) out.push({ name, binary: await compileProbe(name, dir) });
  return out;
}
