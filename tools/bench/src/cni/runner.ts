// The process that stands in for a container runtime on a node: started once inside the node's
// network namespace (`nsenter --net=<node> bun runner.ts`), it spawns CNI executables directly,
// so they inherit the node netns with no `nsenter` in front of each timed call — the same for
// podnet and the reference. It reads one request per line on stdin and answers one line on stdout.
//
// A request is a group of calls started together (one call = a sequential step; 32 = a burst).
// Each call is timed from just before the spawn to its exit with both pipes drained: what a
// runtime waits for. Under Bun (how the benchmark starts it) it spawns with Bun.spawn, whose
// wait4 rusage gives each call's CPU time, its waited-for children (IPAM delegate, iptables, nft)
// included; under Node (a compiled .js) it falls back to node:child_process without CPU times.
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import type { RunnerCall, RunnerReply, RunnerRequest, CallTiming } from './protocol.js';

async function runOneBun(call: RunnerCall): Promise<CallTiming> {
  const start = performance.now();
  let child: ReturnType<typeof Bun.spawn<'pipe', 'pipe', 'pipe'>>;
  try {
    child = Bun.spawn([call.file, ...(call.args ?? [])], { env: call.env, cwd: '/', stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
  } catch (e) {
    const end = performance.now();
    return { code: -1, start, end, ms: end - start, stdout: '', stderr: `${call.file}: ${String(e)}` };
  }
  try {
    child.stdin.write(call.stdin);
    await child.stdin.end();
  } catch {
    // A child that exits before reading stdin closed the pipe: its business.
  }
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  const end = performance.now();
  const cpu = child.resourceUsage()?.cpuTime;
  return {
    code,
    signal: child.signalCode == null ? undefined : String(child.signalCode),
    start,
    end,
    ms: end - start,
    ...(cpu ? { cpuMs: Number(cpu.total) / 1000 } : {}),
    stdout,
    stderr,
  };
}

function runOneNode(call: RunnerCall): Promise<CallTiming> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const start = performance.now();
    const child = spawn(call.file, call.args ?? [], { env: call.env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    let spawnError = '';
    child.on('error', (e) => {
      spawnError = `${call.file}: ${e.message}`;
    });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('close', (code, signal) => {
      const end = performance.now();
      resolve({
        code: code ?? -1,
        signal: signal ?? undefined,
        start,
        end,
        ms: end - start,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + spawnError,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(call.stdin);
  });
}

async function handle(req: RunnerRequest): Promise<RunnerReply> {
  const t0 = performance.now();
  const results = await Promise.all(req.calls.map(typeof Bun === 'undefined' ? runOneNode : runOneBun));
  const wallMs = Math.max(...results.map((r) => r.end)) - t0;
  return { id: req.id, wallMs, results };
}

// The first line tells the client which netns the runner (and so every plugin it starts) is in.
process.stdout.write(`${JSON.stringify({ ready: true, netns: readlinkSync('/proc/self/ns/net'), pid: process.pid })}\n`);

const lines = createInterface({ input: process.stdin });
// Requests are handled one at a time: a burst is one request, so nothing else runs beside it.
let queue = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) return;
  queue = queue.then(async () => {
    let reply: RunnerReply;
    try {
      reply = await handle(JSON.parse(line) as RunnerRequest);
    } catch (e) {
      reply = { id: -1, wallMs: 0, results: [], error: String(e) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
});
lines.on('close', () => {
  void queue.then(() => process.exit(0));
});
