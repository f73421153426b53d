// Durations as operators write them in flags and the config file: `500ms`, `10s`, `2m`, `1h`.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds; `field` names the flag or config key in the error. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`${field}: "${text}" is not a duration (expected a number with a unit: 500ms, 10s, 2m, 1h)`);
  const ms = Math.round(Number(m[1]) * (UNITS[m[2] as string] as number));
  if (ms <= 0) throw new Error(`${field}: "${text}" must be longer than 0`);
  return ms;
}
