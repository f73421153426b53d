// `pnpm bench:ipam` (= `bun --conditions=@podnet/source run src/ipam/main.ts [options]`), no root
// needed: what allocate + release costs in a /16 holding 10, 1,000 and 60,000 addresses, and the
// ratio 60k/10 of the medians (issue 2: target <= 2). Options:
//   --held 10,1000,60000   sizes to measure
//   --cycles N             allocate+release pairs, each call its own open/close session (default 300)
//   --in-process N         pairs on one open store (default 2000)
//   --warmup N             unmeasured pairs first (default 20)
//   --json FILE            raw summaries
import { writeFile } from 'node:fs/promises';
import { runScenario, SUBNET } from './bench.js';
import type { ScenarioOptions, ScenarioResult } from './bench.js';

interface Cli {
  held: number[];
  cycles: number;
  inProcess: number;
  warmup: number;
  json?: string;
}

function parseCli(argv: readonly string[]): Cli {
  const cli: Cli = { held: [10, 1000, 60000], cycles: 300, inProcess: 2000, warmup: 20 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    const count = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} ${value}: expected a non-negative integer`);
      return n;
    };
    switch (flag) {
      case '--held':
        cli.held = value.split(',').map((v) => Number(v));
        if (cli.held.some((n) => !Number.isInteger(n) || n < 0 || n > 65_000)) throw new Error(`--held ${value}: expected sizes from 0 to 65000`);
        break;
      case '--cycles':
        cli.cycles = Math.max(1, count());
        break;
      case '--in-process':
        cli.inProcess = Math.max(1, count());
        break;
      case '--warmup':
        cli.warmup = count();
        break;
      case '--json':
        cli.json = value;
        break;
      default:
        throw new Error(`unknown option ${flag}; see the comment at the top of src/ipam/main.ts`);
    }
    i++;
  }
  return cli;
}

const ms = (v: number): string => v.toFixed(2);

function table(results: readonly ScenarioResult[]): string {
  const header = [
    'held',
    'fill s',
    'per call: alloc+rel median',
    'p90',
    'mean',
    'alloc',
    'release',
    'in-process median',
    'mean',
    'worst walk',
    'store',
    'tables',
  ];
  const rows = results.map((r) => [
    r.held.toLocaleString('en-US'),
    (r.fillMs / 1000).toFixed(1),
    ms(r.perCall.median),
    ms(r.perCall.p90),
    ms(r.perCall.mean),
    ms(r.allocate.median),
    ms(r.release.median),
    ms(r.inProcess.median),
    ms(r.inProcess.mean),
    ms(r.worstWalkMs),
    `${(r.storeBytes / 1024).toFixed(0)} KiB`,
    String(r.tableFiles),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padStart(widths[i] ?? 0)).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const runtime = typeof Bun === 'undefined' ? `node ${process.version}` : `bun ${Bun.version}`;
  console.log(`IPAM allocate + release in ${SUBNET}, ${runtime}; times in ms, process start excluded`);
  const results: ScenarioResult[] = [];
  for (const held of cli.held) {
    const options: ScenarioOptions = { held, cycles: cli.cycles, inProcess: cli.inProcess, warmup: cli.warmup };
    process.stderr.write(`measuring ${held} held...\n`);
    results.push(await runScenario(options));
  }
  console.log(table(results));
  const first = results[0];
  const last = results[results.length - 1];
  if (first !== undefined && last !== undefined && first !== last) {
    const ratio = last.perCall.median / first.perCall.median;
    const verdict = ratio <= 2 ? 'meets' : 'MISSES';
    console.log(
      `ratio ${last.held}/${first.held} of per-call medians: ${ratio.toFixed(2)} (${verdict} the target <= 2); ` +
        `means ${(last.perCall.mean / first.perCall.mean).toFixed(2)}; in-process medians ${(last.inProcess.median / first.inProcess.median).toFixed(2)}`,
    );
  }
  console.log('per call = open → allocate → close + open → release → close, as two CNI calls; worst walk = one allocation past every held address');
  if (cli.json !== undefined) await writeFile(cli.json, `${JSON.stringify({ options: cli, results }, null, 2)}\n`);
}

await main();
