import { describe, expect, it } from 'vitest';
import { Coalescer } from './coalesce.js';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Coalescer', () => {
  it('turns a burst of requests into one run', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 20);
    for (let i = 0; i < 500; i++) c.request();
    await c.idle();
    expect(runs).toBe(1);
    await c.close();
  });

  it('a request during a run makes exactly one more run, after it, never two at once', async () => {
    let runs = 0;
    let concurrent = 0;
    let maxConcurrent = 0;
    const first = gate();
    const c = new Coalescer(async () => {
      runs++;
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      if (runs === 1) await first.promise;
      concurrent--;
    }, 5);
    c.request(0);
    while (runs === 0) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 50; i++) c.request();
    first.open();
    await c.idle();
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(1);
    await c.close();
  });

  it('runNow resolves after the run; an immediate request overtakes a delayed one', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 60_000);
    c.request(); // would wait a minute
    await c.runNow();
    expect(runs).toBe(1);
    await c.close();
  });

  it('a throwing task reports the error and later requests still run', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const c = new Coalescer(
      async () => {
        runs++;
        if (runs === 1) throw new Error('boom');
      },
      1,
      (e) => errors.push(e),
    );
    await c.runNow();
    await c.runNow();
    expect(runs).toBe(2);
    expect(errors).toHaveLength(1);
    await c.close();
  });

  it('nothing runs after close', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 10);
    c.request();
    await c.close();
    c.request(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(0);
  });
});
