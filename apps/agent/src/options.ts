// The agent's settings: defaults ← the JSON config file (`--config`) ← flags. Every error names
// the flag or config key. Keys of the config file are the flags' names in camelCase
// (`--reconcile-period` → "reconcilePeriod"); durations are strings with a unit ("10s").
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DEFAULT_LEASE_FILE } from '@podnet/cluster/lease-file';
import { parseDuration } from './duration.js';
import { parseListen } from './http.js';
import type { Listen } from './http.js';
import { LOG_FORMATS, LOG_LEVELS } from './logger.js';
import type { LogFormat, LogLevel } from './logger.js';

export interface AgentOptions {
  node: string;
  /** `local:<dir>` or `etcd:<url>[,<url>…]`. */
  store: string;
  etcdTls?: { ca: string; cert: string; key: string };
  networkConfig?: string;
  networkConfigOverwrite: boolean;
  underlay?: string;
  underlayAddress?: string;
  leaseFile: string;
  listen: Listen;
  reconcilePeriodMs: number;
  leaseTtlMs: number;
  masquerade: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Serve this node's CNI calls on this unix socket (thick mode); absent: off. */
  cniSocket?: string;
}

export const DEFAULTS = {
  store: 'local:/var/lib/podnet/store',
  leaseFile: DEFAULT_LEASE_FILE,
  listen: '127.0.0.1:9808',
  reconcilePeriod: '10s',
  leaseTtl: '60s',
  logLevel: 'info',
  logFormat: 'json',
} as const;

/** What flags or the config file may set, before validation. */
export interface RawOptions {
  node?: unknown;
  store?: unknown;
  etcdCa?: unknown;
  etcdCert?: unknown;
  etcdKey?: unknown;
  networkConfig?: unknown;
  networkConfigOverwrite?: unknown;
  underlay?: unknown;
  underlayAddress?: unknown;
  leaseFile?: unknown;
  listen?: unknown;
  reconcilePeriod?: unknown;
  leaseTtl?: unknown;
  masquerade?: unknown;
  logLevel?: unknown;
  logFormat?: unknown;
  cniSocket?: unknown;
}

const KEYS: ReadonlyArray<keyof RawOptions> = [
  'node',
  'store',
  'etcdCa',
  'etcdCert',
  'etcdKey',
  'networkConfig',
  'networkConfigOverwrite',
  'underlay',
  'underlayAddress',
  'leaseFile',
  'listen',
  'reconcilePeriod',
  'leaseTtl',
  'masquerade',
  'logLevel',
  'logFormat',
  'cniSocket',
];

const FLAG: Record<keyof RawOptions, string> = Object.fromEntries(KEYS.map((k) => [k, `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`])) as Record<
  keyof RawOptions,
  string
>;

export function readConfigFile(path: string): RawOptions {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`--config ${path}: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`--config ${path}: expected a JSON object`);
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new Error(`--config ${path}: unknown key "${key}" (known: ${KEYS.join(', ')})`);
  }
  return raw as RawOptions;
}

function str(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new Error(`${name}: expected a non-empty string`);
  return v;
}

function bool(v: unknown, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new Error(`${name}: expected true or false`);
  return v;
}

/** Merge the config file (may be empty) and flags (win), fill defaults, validate. */
export function resolveOptions(file: RawOptions, flags: RawOptions): AgentOptions {
  const pick = <K extends keyof RawOptions>(key: K): { value: unknown; name: string } =>
    flags[key] !== undefined ? { value: flags[key], name: FLAG[key] } : { value: file[key], name: `config "${key}"` };
  const s = (key: keyof RawOptions): string | undefined => {
    const { value, name } = pick(key);
    return str(value, name);
  };
  const b = (key: keyof RawOptions): boolean | undefined => {
    const { value, name } = pick(key);
    return bool(value, name);
  };

  const store = s('store') ?? DEFAULTS.store;
  if (!/^(local:.+|etcd:.+)$/.test(store)) throw new Error(`${pick('store').name}: "${store}" must be local:<dir> or etcd:<url>[,<url>…]`);

  const tls = { ca: s('etcdCa'), cert: s('etcdCert'), key: s('etcdKey') };
  const tlsGiven = Object.values(tls).filter((v) => v !== undefined).length;
  if (tlsGiven !== 0 && tlsGiven !== 3) throw new Error('--etcd-ca, --etcd-cert and --etcd-key go together (all three or none)');
  if (tlsGiven === 3 && !store.startsWith('etcd:')) throw new Error('--etcd-ca/--etcd-cert/--etcd-key need an etcd: store');

  const underlay = s('underlay');
  const underlayAddress = s('underlayAddress');
  if (underlay !== undefined && underlayAddress !== undefined) throw new Error('--underlay and --underlay-address exclude each other');

  const reconcilePeriod = pick('reconcilePeriod');
  const leaseTtl = pick('leaseTtl');
  const listen = pick('listen');
  const logLevel = s('logLevel') ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new Error(`${pick('logLevel').name}: "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  const logFormat = s('logFormat') ?? DEFAULTS.logFormat;
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat))
    throw new Error(`${pick('logFormat').name}: "${logFormat}" is not one of ${LOG_FORMATS.join(', ')}`);

  const leaseTtlMs = parseDuration(str(leaseTtl.value, leaseTtl.name) ?? DEFAULTS.leaseTtl, leaseTtl.name);
  if (leaseTtlMs < 3000) throw new Error(`${leaseTtl.name}: at least 3s (the lease is renewed at a third of it)`);

  const out: AgentOptions = {
    node: s('node') ?? hostname(),
    store,
    networkConfigOverwrite: b('networkConfigOverwrite') ?? false,
    leaseFile: s('leaseFile') ?? DEFAULTS.leaseFile,
    listen: parseListen(str(listen.value, listen.name) ?? DEFAULTS.listen, listen.name),
    reconcilePeriodMs: parseDuration(str(reconcilePeriod.value, reconcilePeriod.name) ?? DEFAULTS.reconcilePeriod, reconcilePeriod.name),
    leaseTtlMs,
    masquerade: b('masquerade') ?? true,
    logLevel: logLevel as LogLevel,
    logFormat: logFormat as LogFormat,
  };
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$/.test(out.node))
    throw new Error(`${pick('node').name}: "${out.node}" is not a valid node name (letters, digits, '.', '-')`);
  if (tlsGiven === 3) out.etcdTls = tls as { ca: string; cert: string; key: string };
  const networkConfig = s('networkConfig');
  if (networkConfig !== undefined) out.networkConfig = networkConfig;
  if (underlay !== undefined) out.underlay = underlay;
  if (underlayAddress !== undefined) out.underlayAddress = underlayAddress;
  const cniSocket = s('cniSocket');
  if (cniSocket !== undefined) {
    if (!cniSocket.startsWith('/')) throw new Error(`${pick('cniSocket').name}: "${cniSocket}" must be an absolute path`);
    out.cniSocket = cniSocket;
  }
  return out;
}
