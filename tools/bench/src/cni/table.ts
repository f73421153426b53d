// The comparison table: podnet vs the reference, median and p90, ratios podnet/reference, and
// the target each row is held to. Pure: rows in, text out.
import type { Summary } from './stats.js';

export interface Row {
  label: string;
  podnet: Summary;
  reference: Summary;
  /** Highest acceptable ratio of medians podnet/reference; undefined = reported only. */
  target?: number | undefined;
}

export interface Verdict {
  label: string;
  ratio: number;
  target: number;
  met: boolean;
}

const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const x = (v: number): string => `${v.toFixed(2)}×`;

export function ratio(podnet: number, reference: number): number {
  return podnet / reference;
}

export function verdicts(rows: readonly Row[]): Verdict[] {
  return rows.flatMap((r) => {
    if (r.target === undefined) return [];
    const value = ratio(r.podnet.median, r.reference.median);
    return [{ label: r.label, ratio: value, target: r.target, met: value <= r.target }];
  });
}

export function formatTable(rows: readonly Row[]): string {
  const header = ['', 'n', 'podnet median', 'p90', 'reference median', 'p90', 'ratio median', 'ratio p90', 'target'];
  const body = rows.map((r) => {
    const rm = ratio(r.podnet.median, r.reference.median);
    const target = r.target === undefined ? '—' : `≤ ${x(r.target)} ${rm <= r.target ? 'met' : 'MISSED'}`;
    return [
      r.label,
      r.podnet.n === r.reference.n ? String(r.podnet.n) : `${r.podnet.n}/${r.reference.n}`,
      ms(r.podnet.median),
      ms(r.podnet.p90),
      ms(r.reference.median),
      ms(r.reference.p90),
      x(rm),
      x(ratio(r.podnet.p90, r.reference.p90)),
      target,
    ];
  });
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}
