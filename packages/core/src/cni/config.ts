// Typed readers for plugin config keys: one line per key in a backend's config parser, and errors
// that name the key and say what was expected (code 7), or reject keys nobody reads (code 2).
// JSON null counts as absent, as in the reference's Go decoding.
import { CniError, ErrorCode } from './errors.js';

type Conf = Readonly<Record<string, unknown>>;

export interface ReadOptions<T> {
  /** Returned when the key is absent. */
  default?: T;
  /** Absent key → code 7 "<key> is required". */
  required?: boolean;
  /** Path to `conf` in messages, e.g. "ipam." gives "ipam.rangeStart". */
  prefix?: string;
}

type Certain<T> = ReadOptions<T> & ({ default: T } | { required: true });

/** Fields of every plugin config (spec + libcni injections + the skel's logFile/logLevel). */
export const NETCONF_KEYS: readonly string[] = [
  'cniVersion',
  'name',
  'type',
  'ipam',
  'dns',
  'capabilities',
  'runtimeConfig',
  'args',
  'prevResult',
  'logFile',
  'logLevel',
  // podnet's thick mode: {socket?, timeoutMs?} or false (daemon/client.ts).
  'daemon',
];

/** A value as messages show it: JSON, cut to 60 characters (one helper with the IPAM's). */
import { show as showValue } from '../ipam/errors.js';
export { showValue };

function invalid(path: string, expected: string, value: unknown): CniError {
  return new CniError(ErrorCode.InvalidConfig, `${path} must be ${expected}, got ${showValue(value)}`);
}

function read<T>(conf: Conf, key: string, opts: ReadOptions<T>, check: (v: unknown, path: string) => T): T | undefined {
  const path = `${opts.prefix ?? ''}${key}`;
  const value = conf[key];
  if (value === undefined || value === null) {
    if (opts.required) throw new CniError(ErrorCode.InvalidConfig, `${path} is required`);
    return opts.default;
  }
  return check(value, path);
}

export function readBool(conf: Conf, key: string, opts: Certain<boolean>): boolean;
export function readBool(conf: Conf, key: string, opts?: ReadOptions<boolean>): boolean | undefined;
export function readBool(conf: Conf, key: string, opts: ReadOptions<boolean> = {}): boolean | undefined {
  return read(conf, key, opts, (v, path) => {
    if (typeof v !== 'boolean') throw invalid(path, 'a boolean', v);
    return v;
  });
}

export interface IntOptions extends ReadOptions<number> {
  min?: number;
  max?: number;
}

export function readInt(conf: Conf, key: string, opts: IntOptions & Certain<number>): number;
export function readInt(conf: Conf, key: string, opts?: IntOptions): number | undefined;
export function readInt(conf: Conf, key: string, opts: IntOptions = {}): number | undefined {
  return read(conf, key, opts, (v, path) => {
    const min = opts.min ?? Number.MIN_SAFE_INTEGER;
    const max = opts.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      const range =
        opts.min !== undefined && opts.max !== undefined
          ? ` from ${min} to ${max}`
          : opts.min !== undefined
            ? ` ≥ ${min}`
            : opts.max !== undefined
              ? ` ≤ ${max}`
              : '';
      throw invalid(path, `an integer${range}`, v);
    }
    return v;
  });
}

export interface StringOptions extends ReadOptions<string> {
  /** Allowed values. */
  oneOf?: readonly string[];
  /** The value must match this pattern. */
  pattern?: RegExp;
  /** Reject "". */
  nonEmpty?: boolean;
}

export function readString(conf: Conf, key: string, opts: StringOptions & Certain<string>): string;
export function readString(conf: Conf, key: string, opts?: StringOptions): string | undefined;
export function readString(conf: Conf, key: string, opts: StringOptions = {}): string | undefined {
  return read(conf, key, opts, (v, path) => {
    if (typeof v !== 'string') throw invalid(path, 'a string', v);
    if (opts.nonEmpty && v === '') throw invalid(path, 'a non-empty string', v);
    if (opts.oneOf && !opts.oneOf.includes(v)) throw invalid(path, `one of ${opts.oneOf.map((s) => JSON.stringify(s)).join(', ')}`, v);
    if (opts.pattern && !opts.pattern.test(v)) throw invalid(path, `a string matching ${opts.pattern.source}`, v);
    return v;
  });
}

export function readStringArray(conf: Conf, key: string, opts: Certain<string[]>): string[];
export function readStringArray(conf: Conf, key: string, opts?: ReadOptions<string[]>): string[] | undefined;
export function readStringArray(conf: Conf, key: string, opts: ReadOptions<string[]> = {}): string[] | undefined {
  return read(conf, key, opts, (v, path) => {
    if (!Array.isArray(v)) throw invalid(path, 'an array of strings', v);
    v.forEach((s: unknown, i) => {
      if (typeof s !== 'string') throw invalid(`${path}[${i}]`, 'a string', s);
    });
    return [...(v as string[])];
  });
}

export function readObject(conf: Conf, key: string, opts: Certain<Record<string, unknown>>): Record<string, unknown>;
export function readObject(conf: Conf, key: string, opts?: ReadOptions<Record<string, unknown>>): Record<string, unknown> | undefined;
export function readObject(conf: Conf, key: string, opts: ReadOptions<Record<string, unknown>> = {}): Record<string, unknown> | undefined {
  return read(conf, key, opts, (v, path) => {
    if (typeof v !== 'object' || Array.isArray(v)) throw invalid(path, 'an object', v);
    return v as Record<string, unknown>;
  });
}

/**
 * Code 2 naming every key of `conf` outside `allowed` with its value. Keys under the reserved
 * `cni.dev/` namespace are always allowed (runtimes inject them).
 */
export function rejectUnknownKeys(conf: Conf, allowed: readonly string[], prefix = ''): void {
  const unknown = Object.keys(conf).filter((k) => !allowed.includes(k) && !k.startsWith('cni.dev/'));
  if (unknown.length === 0) return;
  throw new CniError(
    ErrorCode.UnsupportedField,
    `unsupported field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${prefix}${k}: ${showValue(conf[k])}`).join(', ')}`,
    `supported fields${prefix ? ` of ${prefix.replace(/\.$/, '')}` : ''}: ${allowed.join(', ')}`,
  );
}
