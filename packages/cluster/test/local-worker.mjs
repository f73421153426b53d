// A separate acquirer process for the local store's multi-process tests, run under Bun (which
// runs the TypeScript sources directly):
//   bun test/local-worker.mjs <dir> '<request JSON>'         → prints "ready", waits for a line
//       on stdin, acquires, prints the lease as JSON
//   bun test/local-worker.mjs <dir> '<request JSON>' churn   → prints "ready", waits for a line,
//       then forever acquires <node>-<i>, writing "a" before and "A <node>-<i>\n" after each, so
//       the parent knows which acquisitions completed when it kills the process
import { LocalLeaseStore } from '../src/local/local-store.ts';

const [dir, requestJson, mode] = process.argv.slice(2);
const store = new LocalLeaseStore(dir);
const request = JSON.parse(requestJson);
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  try {
    if (mode === 'churn') {
      for (let i = 0; ; i++) {
        const node = `${request.node}-${i}`;
        process.stdout.write('a');
        await store.acquire({ ...request, node });
        process.stdout.write(`A ${node}\n`);
      }
    }
    process.stdout.write(`${JSON.stringify(await store.acquire(request))}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: { kind: error.kind, message: error.message } })}\n`);
    process.exitCode = 1;
  }
  process.stdin.destroy();
});
