// CNI_ARGS: `K=V;K2=V2` extra arguments from the runtime (kubelet sends
// `IgnoreUnknown=1;K8S_POD_NAMESPACE=…;K8S_POD_NAME=…;K8S_POD_INFRA_CONTAINER_ID=…`).
// Keys are case-sensitive. As in the reference, a key the plugin does not know is an error unless
// the runtime sent IgnoreUnknown=1 (or true).
import { CniError, ErrorCode } from './errors.js';
import { showValue } from './config.js';

/** The keys Kubernetes runtimes send; plugins usually list these among their known keys. */
export const KUBERNETES_ARGS: readonly string[] = ['K8S_POD_NAMESPACE', 'K8S_POD_NAME', 'K8S_POD_INFRA_CONTAINER_ID', 'K8S_POD_UID'];

export interface ParsedCniArgs {
  /** key → value, IgnoreUnknown removed; a repeated key keeps its last value. */
  values: Record<string, string>;
  ignoreUnknown: boolean;
}

/**
 * Parse CNI_ARGS. Pairs and their keys/values are trimmed; empty pairs (`a=1;;b=2`, a trailing `;`)
 * are skipped; a value may contain `=`. A pair without `=` or with an empty key → code 4.
 * With `known`, a key outside it → code 2 unless IgnoreUnknown is set; without `known`, every key
 * is accepted.
 */
export function parseCniArgs(raw: string | undefined, known?: readonly string[]): ParsedCniArgs {
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  let ignoreUnknown = false;
  for (const part of (raw ?? '').split(';')) {
    const pair = part.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (key === '') {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `invalid CNI_ARGS pair ${showValue(pair)}`,
        'expected KEY=VALUE pairs separated by ";", e.g. "IgnoreUnknown=1;K8S_POD_NAME=web"',
      );
    }
    const value = pair.slice(eq + 1).trim();
    if (key === 'IgnoreUnknown') {
      const lower = value.toLowerCase();
      if (lower !== '1' && lower !== 'true' && lower !== '0' && lower !== 'false') {
        throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_ARGS IgnoreUnknown=${value}`, 'expected 1, true, 0 or false');
      }
      ignoreUnknown = lower === '1' || lower === 'true';
      continue;
    }
    values[key] = value;
  }
  if (known && !ignoreUnknown) {
    const unknown = Object.keys(values).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new CniError(
        ErrorCode.UnsupportedField,
        `unknown CNI_ARGS key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `${k}=${values[k]}`).join(', ')}`,
        `this plugin knows ${known.length ? known.join(', ') : 'no keys'}; add IgnoreUnknown=1 to ignore others`,
      );
    }
  }
  return { values: { ...values }, ignoreUnknown };
}
