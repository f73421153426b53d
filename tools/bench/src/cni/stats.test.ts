import { describe, expect, it } from 'vitest';
import { median, quantile, summarize } from './stats.js';

describe('stats', () => {
  it('median of odd and even counts', () => {
    expect(median([1, 2, 9])).toBe(2);
    expect(median([1, 2, 4, 9])).toBe(3);
  });

  it('p90 by nearest rank is an actual sample', () => {
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantile(ten, 0.9)).toBe(9);
    expect(quantile(ten, 1)).toBe(10);
    expect(quantile(ten, 0)).toBe(1);
    const fifty = Array.from({ length: 50 }, (_, i) => i + 1);
    expect(quantile(fifty, 0.9)).toBe(45);
  });

  it('summarize sorts a copy', () => {
    const samples = [5, 1, 3];
    expect(summarize(samples)).toEqual({ n: 3, median: 3, p90: 5, min: 1, max: 5 });
    expect(samples).toEqual([5, 1, 3]);
  });

  it('rejects empty input and bad quantiles', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => quantile([1], 1.5)).toThrow(/outside/);
  });
});
