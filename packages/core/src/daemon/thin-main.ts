// The first thing a CNI executable runs: hand the call to podnetd when one serves this node, and
// only when none does, load the plugin code and run the call in-process. Kept to the wire and the
// client (no plugin modules, no node:fs under Bun), so a thick-mode call costs Bun's start and one
// round trip: the plugin's modules are imported only on the fallback path.
import { callDaemon, daemonTarget } from './client.js';

/** What runs the call in-process, given the stdin when it was already read. */
export type InProcess = (stdin: Buffer | undefined) => Promise<never>;

interface BunIo {
  stdin: { arrayBuffer(): Promise<ArrayBuffer> };
  stdout: unknown;
  stderr: unknown;
  write(dest: unknown, data: string): Promise<number>;
}

async function readAllStdin(): Promise<Buffer> {
  const bun = (globalThis as { Bun?: BunIo }).Bun;
  if (bun) return Buffer.from(await bun.stdin.arrayBuffer());
  const { readFileSync } = await import('node:fs');
  return readFileSync(0);
}

async function write(fd: 1 | 2, text: string): Promise<void> {
  const bun = (globalThis as { Bun?: BunIo }).Bun;
  if (bun) {
    await bun.write(fd === 1 ? bun.stdout : bun.stderr, text);
    return;
  }
  const { writeSync } = await import('node:fs');
  writeSync(fd, text);
}

/**
 * `plugin` is the name podnetd serves this executable under. VERSION, calls without CNI_COMMAND
 * (operator commands, the about text) and configs with `"daemon": false` go straight in-process.
 */
export async function thinMain(plugin: string, inProcess: () => Promise<InProcess>): Promise<never> {
  const command = process.env.CNI_COMMAND;
  if (!command || command === 'VERSION') return (await inProcess())(undefined);
  let stdin: Buffer;
  try {
    stdin = await readAllStdin();
  } catch {
    // The in-process skel reads (and reports) stdin itself.
    return (await inProcess())(undefined);
  }
  const text = stdin.toString('utf8');
  const target = daemonTarget(text);
  const response = target && (await callDaemon(plugin, process.env, text, target));
  if (!response) return (await inProcess())(stdin);
  await write(1, response.stdout);
  if (response.stderr) await write(2, response.stderr);
  process.exit(response.exit);
}
