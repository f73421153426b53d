// `bun run src/cni/main.ts [options]` (root): CNI call latency of podnet-bridge vs the reference
// bridge + host-local, side by side in one run. Prints a table of medians, p90 and ratios against
// the targets, and where podnet's time goes. Options:
//   --pods N          sequential pods per side (default 60)
//   --burst N         concurrent ADDs in a burst (default 32)
//   --burst-rounds N  bursts per side (default 5)
//   --version N       VERSION calls per side (default 30)
//   --trace N         ADD+DEL pairs per side traced with strace for the breakdown (default 5, 0 = off)
//   --only plain|ipMasq
//   --podnet-ipam host-local   podnet-bridge delegates to host-local (isolates the IPAM store's cost)
//   --nft N           rounds of the nft transaction cost probe (default 10, 0 = off)
//   --mode embedded|thick|both   podnet per call in its own process, through podnetd, or both
//                     (default both; each mode has the reference beside it in the same run)
//   --json FILE       raw samples and summaries
import { chmod, copyFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Lab, sweepNetns } from '@podnet/lab';
import { implementations, thickVariant } from './implementations.js';
import { kernelFloor } from './kernel-floor.js';
import { nftCosts } from './nft-costs.js';
import { compileProbe, compileStartupProbes } from './probes.js';
import { checkPrerequisites, sweepTempDirs } from './prerequisites.js';
import { runVariant, type BenchOptions, type Variant, type VariantResult } from './bench.js';
import { kernelFloorLines, report } from './report.js';

export const PREFIX = 'pnt-bn-';

interface Cli extends BenchOptions {
  variants: Variant[];
  podnetIpam: 'podnet-ipam' | 'host-local';
  nftRounds: number;
  modes: Array<'embedded' | 'thick'>;
  json?: string;
}

function parseCli(argv: readonly string[]): Cli {
  const cli: Cli = {
    pods: 60,
    burst: 32,
    burstRounds: 5,
    versionCalls: 30,
    warmup: 2,
    trace: 5,
    subnet: '10.245.0.0/24',
    variants: ['plain', 'ipMasq'],
    podnetIpam: 'podnet-ipam',
    nftRounds: 10,
    modes: ['embedded', 'thick'],
    log: (line) => void process.stderr.write(`${line}\n`),
  };
  const int = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} expects an integer ≥ ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    switch (flag) {
      case '--pods':
        cli.pods = int(flag, value, 1);
        i++;
        break;
      case '--burst':
        cli.burst = int(flag, value, 1);
        i++;
        break;
      case '--burst-rounds':
        cli.burstRounds = int(flag, value, 1);
        i++;
        break;
      case '--version':
        cli.versionCalls = int(flag, value, 0);
        i++;
        break;
      case '--trace':
        cli.trace = int(flag, value, 0);
        i++;
        break;
      case '--nft':
        cli.nftRounds = int(flag, value, 0);
        i++;
        break;
      case '--only':
        if (value !== 'plain' && value !== 'ipMasq') throw new Error(`--only expects plain or ipMasq, got ${value}`);
        cli.variants = [value];
        i++;
        break;
      case '--podnet-ipam':
        if (value !== 'podnet-ipam' && value !== 'host-local') throw new Error(`--podnet-ipam expects podnet-ipam or host-local, got ${value}`);
        cli.podnetIpam = value;
        i++;
        break;
      case '--mode':
        if (value !== 'embedded' && value !== 'thick' && value !== 'both') throw new Error(`--mode expects embedded, thick or both, got ${value}`);
        cli.modes = value === 'both' ? ['embedded', 'thick'] : [value];
        i++;
        break;
      case '--json':
        if (!value) throw new Error('--json expects a file name');
        cli.json = value;
        i++;
        break;
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return cli;
}

async function main(): Promise<number> {
  const cli = parseCli(process.argv.slice(2));
  await checkPrerequisites({ trace: cli.trace > 0 });
  const impls = implementations({ podnetIpam: cli.podnetIpam });
  // Leftovers of a run that was killed before its cleanup (only this benchmark uses the prefix).
  const stale = [...(await sweepNetns(PREFIX)), ...(await sweepTempDirs(PREFIX))];
  if (stale.length) cli.log(`removed leftovers of an earlier run: ${stale.join(', ')}`);

  const lab = new Lab({ prefix: PREFIX });
  const interrupted = (): void => {
    void lab.destroy().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const results: VariantResult[] = [];
  const extra: string[] = [];
  try {
    // A private copy: a `pnpm build` elsewhere replacing dist/bin mid-run must not change (or
    // briefly remove) the executable under test.
    const built = impls.podnet.binary;
    const copy = path.join(await lab.tempDir('bin'), path.basename(built));
    await copyFile(built, copy);
    await chmod(copy, 0o755);
    impls.podnet.binary = copy;
    cli.log(`lab ${lab.id}: podnet ${built} (built ${(await stat(built)).mtime.toISOString()}, run from a copy) vs reference ${impls.reference.binary}`);
    const probeDir = cli.versionCalls > 0 ? await lab.tempDir('probes') : undefined;
    if (probeDir) {
      cli.log('compiling the start-up probes');
      cli.startupProbes = await compileStartupProbes(probeDir);
    }
    for (const mode of cli.modes) {
      const podnet = mode === 'thick' ? thickVariant(impls.podnet) : impls.podnet;
      for (const variant of cli.variants)
        results.push(await runVariant(lab, [podnet, impls.reference], variant, mode === 'thick' ? { ...cli, startupProbes: undefined } : cli));
    }
    if (probeDir) {
      cli.log('kernel floor: the netlink work of an ADD/DEL alone, compiled with Bun');
      const kf = await kernelFloor(lab, await compileProbe('kernel', probeDir), Math.min(cli.pods, 30));
      extra.push(...kernelFloorLines(kf, results));
    }
    if (cli.nftRounds > 0 && cli.variants.includes('ipMasq')) {
      cli.log('nft transaction costs');
      extra.push('', ...(await nftCosts(lab, cli.nftRounds)));
    }
  } finally {
    await lab.destroy();
  }
  const { text, leftovers } = report(results, cli, extra);
  process.stdout.write(`${text}\n`);
  if (cli.json) await writeFile(cli.json, `${JSON.stringify({ options: { ...cli, log: undefined }, results }, null, 2)}\n`);
  if (leftovers > 0) {
    process.stderr.write(`${leftovers} objects were left behind by DEL (listed above)\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
