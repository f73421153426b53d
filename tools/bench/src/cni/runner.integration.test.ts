// The runner really starts plugins inside the node netns, hands them exactly the given env and
// stdin, and reports every call of a group. Needs root (it creates a namespace).
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabNode } from '@podnet/lab';
import { Runner } from './runner-client.js';

describe('runner inside a node netns', () => {
  const lab = new Lab({ prefix: 'pnt-bn-t' });
  let node: LabNode;
  let runner: Runner;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('this test creates network namespaces: run it as root');
    node = await lab.addNode('node');
    runner = await Runner.start(node.netns.path);
  });

  afterAll(async () => {
    await runner?.stop();
    await lab.destroy();
  });

  it('reports the node netns and starts children there', async () => {
    const ino = statSync(node.netns.path).ino;
    expect(runner.netnsId).toBe(`net:[${ino}]`);
    const reply = await runner.run([{ file: '/bin/readlink', args: ['/proc/self/ns/net'], env: {}, stdin: '' }]);
    expect(reply.results[0]).toMatchObject({ code: 0, stdout: `net:[${ino}]\n` });
  });

  it('passes only the given environment and the stdin', async () => {
    const reply = await runner.run([{ file: '/bin/sh', args: ['-c', 'env; cat'], env: { CNI_COMMAND: 'VERSION' }, stdin: '{"x":1}' }]);
    const out = reply.results[0]?.stdout ?? '';
    expect(out).toContain('CNI_COMMAND=VERSION');
    expect(out).not.toContain('HOME=');
    expect(out.endsWith('{"x":1}')).toBe(true);
  });

  it('starts a group together and reports each call and exit codes', async () => {
    const calls = [0, 1, 2].map((i) => ({ file: '/bin/sh', args: ['-c', `exit ${i}`], env: {}, stdin: '' }));
    const reply = await runner.run(calls);
    expect(reply.results.map((r) => r.code)).toEqual([0, 1, 2]);
    const first = Math.min(...reply.results.map((r) => r.start));
    const last = Math.max(...reply.results.map((r) => r.end));
    expect(reply.wallMs).toBeGreaterThanOrEqual(last - first);
  });

  it('reports the CPU time of each call (the runner runs under Bun)', async () => {
    const reply = await runner.run([{ file: '/bin/sh', args: ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'], env: {}, stdin: '' }]);
    expect(reply.results[0]?.cpuMs).toBeTypeOf('number');
  });
});
