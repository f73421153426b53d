// Sysctls through /proc/sys. /proc/sys/net resolves against the *calling thread's* netns at open
// time, so inside NetNS.run() these read and write the pod's values. (/sys/class/net does not
// follow setns: sysfs shows the netns of whoever mounted it. Never use it for this.)
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * A sysctl key → its /proc/sys path.
 * - `'net.ipv4.ip_forward'` → dots become slashes (the sysctl(8) form);
 * - `'net/ipv4/conf/eth0.100/forwarding'` → a key containing `/` is taken as-is (sysctl(8) does the
 *   same), which is how to name an interface whose name has dots;
 * - `['net', 'ipv4', 'conf', 'eth0.100', 'forwarding']` → segments taken verbatim.
 */
export function sysctlPath(key: string | readonly string[]): string {
  const segments = typeof key === 'string' ? (key.includes('/') ? key.split('/') : key.split('.')) : key;
  if (segments.length === 0 || segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/'))) {
    throw new Error(`invalid sysctl key ${JSON.stringify(key)}: expected e.g. "net.ipv4.ip_forward" or ["net","ipv4","conf","eth0.100","forwarding"]`);
  }
  return `/proc/sys/${segments.join('/')}`;
}

/** The value, without the trailing newline. */
export function readSysctl(key: string | readonly string[]): string {
  return readFileSync(sysctlPath(key), 'utf8').trimEnd();
}

/** Writes `value` (one open + write; the kernel ignores a write of the current value). */
export function writeSysctl(key: string | readonly string[], value: string | number): void {
  writeFileSync(sysctlPath(key), String(value));
}
