// What the benchmark needs on the machine, checked up front so a missing piece fails loudly with
// the package that brings it, instead of as a confusing plugin error mid-run.
import { readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { run } from '@podnet/lab';

const TOOLS: ReadonlyArray<[command: string, args: string[], debianPackage: string, why: string]> = [
  ['ip', ['-V'], 'iproute2', 'namespaces and kernel state checks'],
  ['nsenter', ['--version'], 'util-linux', 'starting the runner inside a node netns'],
  ['nft', ['--version'], 'nftables', "podnet's ipMasq and the leftover checks"],
  ['iptables', ['--version'], 'iptables', "the reference bridge's ipMasq (9 iptables runs per ADD)"],
  ['strace', ['-V'], 'strace', 'the phase breakdown (--trace 0 skips it)'],
];

export async function checkPrerequisites(opts: { trace: boolean }): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the CNI benchmark creates network namespaces: run it as root');
  const missing: string[] = [];
  for (const [cmd, args, pkg, why] of TOOLS) {
    if (cmd === 'strace' && !opts.trace) continue;
    const r = await run(cmd, args);
    if (r.code !== 0) missing.push(`${cmd} (apt-get install ${pkg}: ${why})`);
  }
  if (missing.length) throw new Error(`missing on this machine: ${missing.join('; ')}`);
}

/** Removes `<tmpdir>/<prefix>*` directories left by a killed run; returns what it removed. */
export async function sweepTempDirs(prefix: string): Promise<string[]> {
  const tmp = os.tmpdir();
  const entries = await readdir(tmp, { withFileTypes: true });
  const stale = entries.filter((e) => e.isDirectory() && e.name.startsWith(prefix)).map((e) => path.join(tmp, e.name));
  for (const dir of stale) await rm(dir, { recursive: true, force: true });
  return stale;
}
