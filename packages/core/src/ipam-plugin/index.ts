// @podnet/core/ipam-plugin: the IPAM as a CNI plugin (`podnet-ipam`), and the same calls for
// backends that run it in-process for `ipam.type: "podnet-ipam"`.
export { createIpamPlugin, ipamPlugin, IPAM_TYPE, IPAM_ARGS } from './plugin.js';
export { flockStoreLock, lockFileOf, LOCK_DIR } from './store-lock.js';
export {
  failed,
  ipamRepairMain,
  loadNetworkConfig,
  parseRepairArgs,
  processIo,
  RepairExit,
  reportJson,
  reportLines,
  UsageError,
  usesPodnetIpam,
} from './repair-command.js';
export type { CommandIo } from './repair-command.js';
