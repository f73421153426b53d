// @podnet/core/cni: the CNI protocol — spec types, versions and result conversion, errors, the
// skel that turns env + stdin into Plugin calls, delegation to other plugins, config readers.
export type {
  Attachment,
  CniVersion,
  Command,
  Dns,
  Interface,
  IpamSection,
  IpConfig,
  NetConf,
  NetConfList,
  Result,
  RouteEntry,
} from './types.js';
export { CniError, ErrorCode, toCniError } from './errors.js';
export type { ErrorCodeValue } from './errors.js';
export type { CmdArgs, GcArgs, Plugin, StatusArgs } from './plugin.js';

export {
  compareVersions,
  isSupportedVersion,
  LATEST_VERSION,
  SUPPORTED_VERSIONS,
  versionAtLeast,
  versionInfo,
} from './version.js';
export type { VersionInfo } from './version.js';
export { convertResult, parseResult } from './result.js';
export type { ParseResultOptions, WireResult } from './result.js';

export { KUBERNETES_ARGS, parseCniArgs } from './args.js';
export type { ParsedCniArgs } from './args.js';
export { checkNotOwnNetns, COMMANDS, ifnameProblem, isCommand, NAME_PATTERN, readCallEnv } from './env.js';
export type { CallEnv, Env } from './env.js';
export { parseNetConf, readValidAttachments } from './netconf.js';
export { runPlugin } from './skel.js';
export type { PluginIo, RunOptions } from './skel.js';
export { pluginMain } from './main.js';

export { createLogger, isLogLevel, parseLogLevel, silentLogger } from './log.js';
export type { Logger, LoggerOptions, LogLevel } from './log.js';

export {
  delegateAdd,
  delegateCheck,
  delegateDel,
  delegateGc,
  delegateStatus,
  execDelegate,
  findPlugin,
  withDelegateRollback,
} from './delegate.js';
export type { DelegateContext, DelegateOptions } from './delegate.js';

export {
  NETCONF_KEYS,
  readBool,
  readInt,
  readObject,
  readString,
  readStringArray,
  rejectUnknownKeys,
  showValue,
} from './config.js';
export type { IntOptions, ReadOptions, StringOptions } from './config.js';
