// Starts a runner inside a node netns and sends it requests. One `nsenter` happens here, once,
// outside any timing; the plugins are then children of a process already in the node netns.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '@podnet/lab';
import type { RunnerCall, RunnerReply } from './protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The Bun that runs the runner's TypeScript: ours when we run under Bun, else the workspace's. */
export function bunBinary(): string {
  if (process.versions['bun']) return process.execPath;
  const bin = path.join(repoRoot(), 'node_modules', 'bun', 'bin', 'bun.exe');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm install\` at the repository root`);
  return bin;
}

export class Runner {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: RunnerReply) => void>();
  private exited: string | undefined;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    /** The netns inode the runner reported (`net:[4026…]`). */
    readonly netnsId: string,
  ) {}

  /** Starts the runner inside `netnsPath` and waits until it reports the netns it is in. */
  static async start(netnsPath: string): Promise<Runner> {
    const file = path.join(here, 'runner.ts');
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', bunBinary(), 'run', file], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // No .env / bunfig lookups from the caller's directory.
      cwd: '/',
    });
    const stderr: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => stderr.push(b));
    const lines = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`runner in ${netnsPath} exited (${code}): ${Buffer.concat(stderr).toString()}`)));
    });
    const hello = JSON.parse(first) as { ready: boolean; netns: string };
    // Proof that the plugins will run in the node netns, not wherever the benchmark runs.
    const expected = `net:[${statSync(netnsPath).ino}]`;
    if (hello.netns !== expected) {
      child.kill('SIGKILL');
      throw new Error(`runner is in ${hello.netns}, expected ${netnsPath} (${expected})`);
    }
    const runner = new Runner(child, hello.netns);
    lines.on('line', (line) => runner.onLine(line));
    child.on('exit', (code, signal) => {
      runner.exited = `runner exited (${signal ?? code}): ${Buffer.concat(stderr).toString().trim()}`;
      for (const [, resolve] of runner.waiting) resolve({ id: -1, wallMs: 0, results: [], error: runner.exited });
      runner.waiting.clear();
    });
    return runner;
  }

  /** Starts all `calls` at once inside the node netns; resolves when every one has closed. */
  run(calls: RunnerCall[]): Promise<RunnerReply> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.child.stdin.write(`${JSON.stringify({ id, calls })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin.end();
      setTimeout(() => this.child.kill('SIGKILL'), 5_000).unref();
    });
  }

  private onLine(line: string): void {
    const reply = JSON.parse(line) as RunnerReply;
    if (reply.id === -1) {
      // A request the runner could not even parse: fail everything that waits.
      for (const [, fail] of this.waiting) fail(reply);
      this.waiting.clear();
      return;
    }
    const resolve = this.waiting.get(reply.id);
    if (!resolve) return;
    this.waiting.delete(reply.id);
    resolve(reply);
  }
}
