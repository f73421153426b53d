// CNI spec versions: which ones podnet speaks, how to compare them, and the VERSION answer.
import { CniError, ErrorCode } from './errors.js';
import type { CniVersion } from './types.js';
import { showValue } from './config.js';

/** Every version podnet reads configs in and prints results in, oldest first. */
export const SUPPORTED_VERSIONS: readonly CniVersion[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];

export const LATEST_VERSION = '1.1.0' satisfies CniVersion;

export function isSupportedVersion(version: unknown): version is CniVersion {
  return typeof version === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

const VERSION_RE = /^(\d+)\.(\d+)\.(\d+)$/;

function parseVersion(version: string): [number, number, number] {
  const m = VERSION_RE.exec(version);
  if (!m) {
    throw new CniError(ErrorCode.IncompatibleVersion, `invalid cniVersion ${showValue(version)}`, 'expected MAJOR.MINOR.PATCH, e.g. "1.0.0"');
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Numeric comparison of two MAJOR.MINOR.PATCH versions: -1, 0 or 1. Malformed → CniError code 1. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseVersion(a);
  const vb = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = va[i]! - vb[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(version: string, min: string): boolean {
  return compareVersions(version, min) >= 0;
}

/** What a plugin prints for VERSION. */
export interface VersionInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/**
 * The VERSION answer. The spec says to echo the request's cniVersion; the reference skel ignores
 * stdin and answers its latest version. podnet echoes a string cniVersion when stdin has one
 * (libcni probes with its own latest) and answers LATEST_VERSION otherwise.
 */
export function versionInfo(requested?: unknown): VersionInfo {
  return {
    cniVersion: typeof requested === 'string' && requested !== '' ? requested : LATEST_VERSION,
    supportedVersions: [...SUPPORTED_VERSIONS],
  };
}
