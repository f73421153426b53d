// The README demo (`npm run demo`): a 3-node host-gw lab on the embedded `local` store — one
// podnetd per node, two pods per node added by the compiled podnet-host-gw exactly as a runtime
// would — its subnets and routes, the connectivity matrix, then everything torn down
// (`--keep-up` leaves the lab running for `lab status` / `lab matrix` / `lab down`).
import { parseArgs } from 'node:util';
import { ClusterLab } from '../cluster/lab.js';
import { renderMatrix } from '../cluster/matrix.js';
import { renderStatus } from '../cluster/render.js';
import { DEFAULT_STATE_ROOT } from '../cluster/state.js';
import { sweepLabs } from '../cluster/sweep.js';

const PREFIX = 'pnlab-demo-';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s = ''): void => void process.stdout.write(`${s}\n`);
const step = (s: string): void => say(`\n${bold(`▸ ${s}`)}`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
    options: { 'keep-up': { type: 'boolean' }, nodes: { type: 'string' }, pods: { type: 'string' } },
  });
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  // Leftovers of an interrupted earlier demo (all its names start with the demo prefix).
  await sweepLabs(PREFIX, DEFAULT_STATE_ROOT);

  let lab: ClusterLab | undefined;
  let stopping = false;
  const interrupted = (): void => {
    if (stopping) return;
    stopping = true;
    void sweepLabs(PREFIX, DEFAULT_STATE_ROOT).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    step('up: a fabric namespace (the underlay switch), 3 node namespaces, one podnetd per node, 2 pods per node');
    lab = await ClusterLab.up({
      prefix: PREFIX,
      nodes: values.nodes === undefined ? 3 : Number(values.nodes),
      pods: values.pods === undefined ? 2 : Number(values.pods),
      backend: 'host-gw',
      store: 'local',
      log: (line) => say(`  ${line}`),
    });

    step('status: each node leased a subnet from the store; its agent routes every peer subnet via the peer node (protocol 83)');
    say(indent(renderStatus(lab, await lab.status())));

    step('matrix: TCP from every pod and every node to every pod, and from every pod to a host outside the cluster; each receiver reports the source address it saw');
    const m = await lab.matrix();
    say(indent(renderMatrix(m)));
    if (!m.ok) throw new Error('the matrix has failed cells (above)');
    return 0;
  } finally {
    if (lab && values['keep-up']) {
      step(`--keep-up: lab ${lab.id} stays up`);
      say(`  pnpm --filter @podnet/lab run lab -- status | matrix | down`);
    } else {
      step('down: agents stopped, namespaces and state removed');
      const r = await sweepLabs(PREFIX, DEFAULT_STATE_ROOT);
      say(`  removed ${r.namespaces.length} namespaces, ${r.processes.length} processes, ${r.dirs.length} state directories`);
    }
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
