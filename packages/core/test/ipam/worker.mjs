// A CNI-call-sized IPAM client for the multi-process tests, run under Bun (which runs the
// TypeScript sources directly, as the shipped executables do once compiled):
//   bun worker.mjs add   '<config JSON>' <containerId>   → prints the result JSON
//   bun worker.mjs del   '<config JSON>' <containerId>   → prints the released addresses
//   bun worker.mjs churn '<config JSON>' <prefix>        → prints "ready", then forever: allocate
//       <prefix>-<i>, release <prefix>-<i-1>, writing "a"/"A" around allocate and "r"/"R" around
//       release so the parent knows what it interrupted when it kills the process.
// Each call is one store session (open → operation → close), like one CNI call. A fourth argument
// "flock" makes every session take the CNI executables' flock sidecar lock first (ipam-plugin's
// StoreLock); without it, sessions rely on LevelDB's own lock and retry alone.
import { allocate, parseIpamConfig, parseStoreLocation, release } from '../../src/ipam/index.ts';

const [mode, configJson, id, lockMode] = process.argv.slice(2);
const input = JSON.parse(configJson);
const owner = (containerId) => ({ containerId, ifname: 'eth0' });
// Imported only in flock mode, so the default mode keeps loading the IPAM alone.
const session = lockMode === 'flock' ? { lock: (await import('../../src/ipam-plugin/store-lock.ts')).flockStoreLock } : {};
if (lockMode !== undefined && lockMode !== 'flock') throw new Error(`unknown lock mode ${lockMode}`);

try {
  if (mode === 'add') {
    process.stdout.write(JSON.stringify(await allocate(parseIpamConfig(input), owner(id), session)));
  } else if (mode === 'del') {
    process.stdout.write(JSON.stringify(await release(parseStoreLocation(input), owner(id), session)));
  } else if (mode === 'churn') {
    const config = parseIpamConfig(input);
    process.stdout.write('ready\n');
    for (let i = 0; ; i++) {
      process.stdout.write('a');
      await allocate(config, owner(`${id}-${i}`), session);
      process.stdout.write('A');
      if (i > 0) {
        process.stdout.write('r');
        await release(config, owner(`${id}-${i - 1}`), session);
        process.stdout.write('R');
      }
    }
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, details: err.details } }));
  process.exitCode = 1;
}
