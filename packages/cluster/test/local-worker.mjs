// One acquirer process for the local store's "at the same moment" test, run under Bun (which
// runs the TypeScript sources directly):  bun test/local-worker.mjs <dir> '<request JSON>'
// Prints "ready" once loaded, waits for a line on stdin, acquires, prints the lease as JSON.
import { LocalLeaseStore } from '../src/local/local-store.ts';

const [dir, requestJson] = process.argv.slice(2);
const store = new LocalLeaseStore(dir);
process.stdout.write('ready\n');
process.stdin.once('data', async () => {
  try {
    process.stdout.write(`${JSON.stringify(await store.acquire(JSON.parse(requestJson)))}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: { kind: error.kind, message: error.message } })}\n`);
    process.exitCode = 1;
  }
  process.stdin.destroy();
});
