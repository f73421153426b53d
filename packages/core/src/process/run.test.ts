import { describe, expect, it } from 'vitest';
import { runProcess } from './run.js';

describe('runProcess', () => {
  it('passes args, env and stdin, and returns the exit code and output', async () => {
    const exit = await runProcess('/bin/sh', {
      args: ['-c', 'read line; echo "$line $PNT_PROC_X"; echo oops >&2; exit 3'],
      env: { PNT_PROC_X: 'from-env' },
      input: 'from-stdin\n',
    });
    expect(exit).toEqual({ code: 3, signal: null, stdout: 'from-stdin from-env\n', stderr: 'oops\n' });
  });

  it('a child that never reads stdin still reports its real exit (EPIPE is not a failure)', async () => {
    const exit = await runProcess('/bin/sh', { args: ['-c', 'exit 0'], input: 'x'.repeat(1 << 20) });
    expect(exit.code).toBe(0);
  });

  it('a signal is reported as such', async () => {
    const exit = await runProcess('/bin/sh', { args: ['-c', 'kill -KILL $$'] });
    expect(exit).toMatchObject({ code: null, signal: 'SIGKILL' });
  });

  it('throws the spawn error when the process never ran', async () => {
    await expect(runProcess('/nonexistent/pnt-proc-none')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('runs inside `within` (where a netns would be entered)', async () => {
    let entered = 0;
    await runProcess('/bin/true', { within: (fn) => (entered++, fn()) });
    expect(entered).toBe(1);
  });
});
