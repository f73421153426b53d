// What a plugin implements; the skel (skel.ts) turns a process's env + stdin into these calls.
import type { Logger } from './log.js';
import type { Attachment, NetConf, Result } from './types.js';

/** What every command gets from the call (STATUS gets only this), already validated by the skel. */
export interface CallArgs {
  /** CNI_PATH split on ':' (empty entries dropped). */
  path: string[];
  /** stdin parsed; `cniVersion` is a supported version. */
  config: NetConf;
  /** stdin as received, for delegates that must get the exact bytes. */
  stdin: Buffer;
  /** The environment of the call, for delegates (they get the same env). */
  env: Readonly<Record<string, string | undefined>>;
  /** The call's logger (stderr, plus the config's logFile); the skel always sets it. */
  log?: Logger;
}

/** Arguments of ADD, DEL and CHECK. */
export interface CmdArgs extends CallArgs {
  containerId: string;
  /** Absent only on DEL (the spec lets the runtime omit it when the netns is gone). */
  netns?: string;
  ifname: string;
  /** CNI_ARGS parsed into key → value (IgnoreUnknown removed). */
  args: Record<string, string>;
}

export interface GcArgs extends CallArgs {
  /** `cni.dev/valid-attachments` (or the older `cni.dev/attachments`). */
  validAttachments: Attachment[];
}

export type StatusArgs = CallArgs;

export interface Plugin {
  add(args: CmdArgs): Promise<Result>;
  del(args: CmdArgs): Promise<void>;
  check(args: CmdArgs): Promise<void>;
  /** Absent: GC succeeds doing nothing. */
  gc?(args: GcArgs): Promise<void>;
  /** Absent: STATUS reports ready. */
  status?(args: StatusArgs): Promise<void>;
  /**
   * The CNI_ARGS keys this plugin understands (e.g. IP, MAC, ...KUBERNETES_ARGS). When set, any
   * other key is code 2 unless the runtime sent IgnoreUnknown=1. Absent: every key is accepted.
   */
  readonly knownArgs?: readonly string[];
}
