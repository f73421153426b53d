// The README demo (`npm run demo`): a 3-node host-gw lab on the embedded `local` store — one
// podnetd per node, two pods per node added by the compiled podnet-host-gw exactly as a runtime
// would — its subnets and routes, the connectivity matrix, then everything torn down
// (`--keep-up` leaves the lab running for `lab status` / `lab matrix` / `lab down`).
import { parseArgs } from 'node:util';
import { runOnce } from '../cluster/run-once.js';
import { DEFAULT_STATE_ROOT } from '../cluster/state.js';
import { sweepLabs } from '../cluster/sweep.js';

const PREFIX = 'pnlab-demo-';

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
    options: { 'keep-up': { type: 'boolean' } },
  });
  if (process.getuid?.() !== 0) throw new Error('the demo creates network namespaces: run it as root');
  // Leftovers of an interrupted earlier demo (all its names start with the demo prefix).
  await sweepLabs(PREFIX, DEFAULT_STATE_ROOT);
  const ok = await runOnce({ prefix: PREFIX, nodes: 3, pods: 2, backend: 'host-gw', store: 'local', keepUp: values['keep-up'] === true });
  if (!ok) throw new Error('the matrix has failed cells (above)');
  return 0;
}

// A reader that goes away (`npm run demo | head`) must not stop the clean-up half-way.
process.stdout.on('error', () => {});
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`\ndemo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
