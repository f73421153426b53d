// The network config on stdin: decode it, check the fields every plugin relies on, gate commands
// by version, and read the parts the skel hands over already typed (prevResult, GC attachments).
import { CniError, ErrorCode } from './errors.js';
import { showValue } from './config.js';
import { checkJsonDepth } from './json-depth.js';
import { NAME_PATTERN } from './env.js';
import { parseResult } from './result.js';
import type { Attachment, Command, NetConf } from './types.js';
import { isSupportedVersion, SUPPORTED_VERSIONS, versionAtLeast } from './version.js';

/** The first config version each command exists in. */
const MIN_VERSION: Partial<Record<Command, string>> = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' };

/**
 * stdin → NetConf for `command`. Invalid JSON or not an object → 6; cniVersion/name/type missing or
 * not strings, a bad name, a malformed prevResult → 7; an unsupported cniVersion, or one older than
 * the command → 1. A null prevResult is dropped.
 */
export function parseNetConf(stdin: Buffer | string, command: Command): NetConf {
  const text = typeof stdin === 'string' ? stdin : stdin.toString('utf8');
  if (text.trim() === '') {
    throw new CniError(ErrorCode.DecodeFailure, 'no network configuration on stdin', 'expected a JSON object');
  }
  checkJsonDepth(text, 'network configuration on stdin');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CniError(ErrorCode.DecodeFailure, 'network configuration on stdin is not valid JSON', (err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CniError(ErrorCode.DecodeFailure, `network configuration must be a JSON object, got ${Array.isArray(value) ? 'an array' : showValue(value)}`);
  }
  const conf = value as Record<string, unknown>;
  for (const key of ['cniVersion', 'name', 'type']) {
    if (typeof conf[key] !== 'string' || conf[key] === '') {
      throw new CniError(
        ErrorCode.InvalidConfig,
        conf[key] === undefined ? `missing ${key} in network configuration` : `${key} must be a non-empty string, got ${showValue(conf[key])}`,
        key === 'cniVersion' ? `one of ${SUPPORTED_VERSIONS.join(', ')}` : `a string${key === 'name' ? ` matching ${NAME_PATTERN.source}` : ''}`,
      );
    }
  }
  const version = conf.cniVersion as string;
  if (!isSupportedVersion(version)) {
    throw new CniError(ErrorCode.IncompatibleVersion, `unsupported cniVersion ${showValue(version)}`, `this plugin supports ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  const min = MIN_VERSION[command];
  if (min && !versionAtLeast(version, min)) {
    throw new CniError(
      ErrorCode.IncompatibleVersion,
      `${command} needs cniVersion ${min} or later, got ${version}`,
      `set cniVersion to ${min} or later in the network configuration`,
    );
  }
  if (!NAME_PATTERN.test(conf.name as string)) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid network name ${showValue(conf.name)}`, `must match ${NAME_PATTERN.source}`);
  }
  checkDaemonKey(conf['daemon']);
  if (conf.prevResult === null) delete conf.prevResult;
  else if (conf.prevResult !== undefined) conf.prevResult = parseResult(conf.prevResult, version);
  return conf as NetConf;
}

/** `daemon`: true/false, or {socket: absolute path, timeoutMs: > 0} (read by the thin client). */
function checkDaemonKey(d: unknown): void {
  if (d === undefined || typeof d === 'boolean') return;
  const o = d as { socket?: unknown; timeoutMs?: unknown } | null;
  const ok =
    typeof o === 'object' &&
    o !== null &&
    !Array.isArray(o) &&
    Object.keys(o).every((k) => k === 'socket' || k === 'timeoutMs') &&
    (o.socket === undefined || (typeof o.socket === 'string' && o.socket.startsWith('/'))) &&
    (o.timeoutMs === undefined || (typeof o.timeoutMs === 'number' && o.timeoutMs > 0));
  if (!ok) {
    throw new CniError(ErrorCode.InvalidConfig, `invalid daemon ${showValue(d)}`, 'expected false, or {"socket": "/absolute/path", "timeoutMs": milliseconds}');
  }
}

const ATTACHMENT_KEYS = ['cni.dev/valid-attachments', 'cni.dev/attachments'] as const;

/**
 * The attachments a GC must keep: `cni.dev/valid-attachments`, else the older `cni.dev/attachments`.
 * `null` is an empty list (libcni sends null when the runtime passes none). Neither key present is
 * code 7: a GC that cannot tell what is valid must not release everything.
 */
export function readValidAttachments(conf: NetConf): Attachment[] {
  const key = ATTACHMENT_KEYS.find((k) => k in conf);
  if (key === undefined) {
    throw new CniError(
      ErrorCode.InvalidConfig,
      'GC config has no cni.dev/valid-attachments',
      'the runtime must send the attachments to keep (an empty list releases everything)',
    );
  }
  const value: unknown = conf[key];
  if (value === null) return [];
  if (!Array.isArray(value)) {
    throw new CniError(ErrorCode.InvalidConfig, `${key} must be an array, got ${showValue(value)}`, 'expected [{"containerID": …, "ifname": …}]');
  }
  return value.map((item: unknown, i) => {
    const o = item as Record<string, unknown> | null;
    for (const field of ['containerID', 'ifname']) {
      if (typeof o !== 'object' || o === null || typeof o[field] !== 'string') {
        throw new CniError(
          ErrorCode.InvalidConfig,
          `${key}[${i}].${field} must be a string, got ${o !== null && typeof o === 'object' && o[field] === undefined ? 'nothing' : showValue(o !== null && typeof o === 'object' ? o[field] : o)}`,
          'expected [{"containerID": …, "ifname": …}]',
        );
      }
    }
    return { containerID: o!.containerID as string, ifname: o!.ifname as string };
  });
}
