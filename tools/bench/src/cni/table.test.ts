import { describe, expect, it } from 'vitest';
import { summarize } from './stats.js';
import { formatTable, verdicts } from './table.js';

const row = (label: string, podnet: number[], reference: number[], target?: number) => ({
  label,
  podnet: summarize(podnet),
  reference: summarize(reference),
  target,
});

describe('comparison table', () => {
  it('prints medians, p90, ratios and whether each target is met', () => {
    const text = formatTable([row('ADD', [10, 20, 30], [20, 40, 60], 1), row('VERSION', [5], [2])]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/podnet median.*reference median.*ratio median.*target/);
    expect(lines[2]).toMatch(/^ADD\s+3\s+20\.0 ms\s+30\.0 ms\s+40\.0 ms\s+60\.0 ms\s+0\.50×\s+0\.50×\s+≤ 1\.00× met$/);
    expect(lines[3]).toMatch(/^VERSION\s+1\s+5\.0 ms.*2\.50×\s+—$/);
  });

  it('shows seconds past 1000 ms and flags a missed target', () => {
    const text = formatTable([row('burst', [1500], [1000], 1)]);
    expect(text).toMatch(/1\.50 s.*1\.00 s.*1\.50×.*MISSED/);
    expect(verdicts([row('burst', [1500], [1000], 1), row('info', [1], [1])])).toEqual([{ label: 'burst', ratio: 1.5, target: 1, met: false }]);
  });
});
