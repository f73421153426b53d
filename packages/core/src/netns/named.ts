// Named namespaces under /run/netns, for tests and the lab (not a hot path: spawning `ip` is
// fine here, and `ip` also sets up the shared bind mount of /run/netns that runtimes expect).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { NetnsError } from './error.js';

export const NAMED_NETNS_DIR = '/run/netns';

/** `/run/netns/<name>` */
export function namedNetnsPath(name: string): string {
  checkName(name);
  return `${NAMED_NETNS_DIR}/${name}`;
}

/** Creates `/run/netns/<name>` (error if it exists) and returns its path. */
export function createNamedNetns(name: string): string {
  const path = namedNetnsPath(name);
  runIp(['netns', 'add', name], path);
  return path;
}

/** Deletes `/run/netns/<name>`; returns false when it did not exist. */
export function deleteNamedNetns(name: string): boolean {
  const path = namedNetnsPath(name);
  if (!existsSync(path)) return false;
  runIp(['netns', 'delete', name], path);
  return true;
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.length > 255) {
    throw new NetnsError('unusable', name, `invalid netns name "${name}"`, 'expected a file name without "/"');
  }
}

function runIp(args: string[], path: string): void {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new NetnsError('unusable', path, `ip ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, '', { cause: err });
  }
}
