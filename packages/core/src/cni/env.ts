// The CNI_* environment of one call: which variables each command needs and what a valid value is.
// Everything here fails with code 4 (invalid environment) naming the variable, except the
// own-netns guard (code 8).
import { statSync } from 'node:fs';
import { CniError, ErrorCode } from './errors.js';
import type { Command } from './types.js';
import { showValue } from './config.js';

export type Env = Readonly<Record<string, string | undefined>>;

export const COMMANDS: readonly Command[] = ['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'];

/**
 * Required variables per command. Stricter than the spec where the reference skel is (CNI_PATH for
 * ADD/DEL/CHECK/GC); CNI_NETNS is optional on DEL, CNI_PATH on STATUS.
 */
const REQUIRED: Record<Command, readonly string[]> = {
  ADD: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  GC: ['CNI_COMMAND', 'CNI_PATH'],
  STATUS: ['CNI_COMMAND'],
  VERSION: ['CNI_COMMAND'],
};

/** Container IDs and network names (spec §Configuration). */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The validated environment of one call. Fields a command does not use are absent. */
export interface CallEnv {
  command: Command;
  containerId?: string;
  netns?: string;
  ifname?: string;
  /** CNI_PATH split on ':', empty entries dropped. */
  path: string[];
  /** CNI_ARGS as given (ADD, DEL, CHECK). */
  cniArgs?: string;
}

export function isCommand(value: unknown): value is Command {
  return typeof value === 'string' && (COMMANDS as readonly string[]).includes(value);
}

/** Why `name` is not a usable interface name, or undefined when it is (Linux IFNAMSIZ rules). */
export function ifnameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (Buffer.byteLength(name) > 15) return 'must be at most 15 bytes long';
  if (name === '.' || name === '..') return 'must not be "." or ".."';
  if (/[/:\s]/u.test(name)) return 'must not contain "/", ":" or whitespace';
  return undefined;
}

/** Read and validate the CNI_* variables for the command in CNI_COMMAND. */
export function readCallEnv(env: Env): CallEnv {
  const raw = env.CNI_COMMAND;
  if (!raw || !isCommand(raw)) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      raw ? `unknown CNI_COMMAND ${showValue(raw)}` : 'missing environment variable CNI_COMMAND',
      `expected one of ${COMMANDS.join(', ')}`,
    );
  }
  const command = raw;
  const required = REQUIRED[command];
  const missing = required.filter((name) => !env[name]);
  if (missing.length) {
    throw new CniError(
      ErrorCode.InvalidEnvironment,
      `missing environment variable${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      `${command} needs ${required.join(', ')}`,
    );
  }
  const call: CallEnv = { command, path: (env.CNI_PATH ?? '').split(':').filter((d) => d !== '') };
  if (command === 'ADD' || command === 'DEL' || command === 'CHECK') {
    const containerId = env.CNI_CONTAINERID ?? '';
    if (!NAME_PATTERN.test(containerId)) {
      throw new CniError(
        ErrorCode.InvalidEnvironment,
        `invalid CNI_CONTAINERID ${showValue(containerId)}`,
        `must match ${NAME_PATTERN.source} (start with a letter or digit; then letters, digits, "_", "." or "-")`,
      );
    }
    const ifname = env.CNI_IFNAME ?? '';
    const problem = ifnameProblem(ifname);
    if (problem) {
      throw new CniError(ErrorCode.InvalidEnvironment, `invalid CNI_IFNAME ${showValue(ifname)}`, `an interface name ${problem}`);
    }
    call.containerId = containerId;
    call.ifname = ifname;
    if (env.CNI_NETNS) call.netns = env.CNI_NETNS;
    if (env.CNI_ARGS !== undefined) call.cniArgs = env.CNI_ARGS;
  }
  return call;
}

/**
 * The reference skel refuses a CNI_NETNS that is the plugin's own netns (code 8): configuring the
 * "container" would reconfigure the host. CNI_NETNS_OVERRIDE=1 allows it. Two stat calls; a path
 * that cannot be stat'ed passes here (DEL tolerates a gone netns; ADD fails later, naming it).
 */
export function checkNotOwnNetns(netns: string, env: Env): void {
  if (env.CNI_NETNS_OVERRIDE === '1') return;
  let own;
  let target;
  try {
    own = statSync('/proc/self/ns/net');
    target = statSync(netns);
  } catch {
    return;
  }
  if (own.dev === target.dev && own.ino === target.ino) {
    throw new CniError(
      ErrorCode.InvalidNetns,
      `CNI_NETNS ${netns} is the plugin's own network namespace`,
      "give the container's netns path (set CNI_NETNS_OVERRIDE=1 to allow it)",
    );
  }
}
