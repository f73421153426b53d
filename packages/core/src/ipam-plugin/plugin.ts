// The CNI side of the IPAM: the handlers of the standalone `podnet-ipam` plugin, and the same
// calls for backends that run the IPAM in-process when `ipam.type` is "podnet-ipam" (no second
// process). The IPAM library knows nothing of CNI; this adapter maps CmdArgs to owners and configs,
// prevResult to expected addresses, and store trouble in STATUS to code 50.
import { KUBERNETES_ARGS } from '../cni/args.js';
import { CniError, ErrorCode } from '../cni/errors.js';
import type { CmdArgs, GcArgs, Plugin, StatusArgs } from '../cni/plugin.js';
import type { Result } from '../cni/types.js';
import { allocate, check, gc, IpamError, IpamErrorCode, managesAddress, parseIpamConfig, parseStoreLocation, release, status } from '../ipam/index.js';
import type { Owner, SessionOptions } from '../ipam/index.js';
import { flockStoreLock } from './store-lock.js';

/** The `ipam.type` (and executable name) of the built-in IPAM. */
export const IPAM_TYPE = 'podnet-ipam';

/** CNI_ARGS keys the IPAM reads (IP) or tolerates (Kubernetes'). */
export const IPAM_ARGS: readonly string[] = ['IP', ...KUBERNETES_ARGS];

/** Every store session of a CNI call waits on the flock sidecar before LevelDB (see store-lock.ts). */
const CALL_SESSION: SessionOptions = { lock: flockStoreLock };

function ownerOf(args: CmdArgs): Owner {
  return { containerId: args.containerId, ifname: args.ifname };
}

/** ADD: one address per range set; the same ones again for an owner that already holds them. */
async function ipamAdd(args: CmdArgs, session: SessionOptions): Promise<Result> {
  const result = await allocate(parseIpamConfig(args.config, args.args), ownerOf(args), session);
  args.log?.debug(`ipam: ${args.containerId}/${args.ifname} holds ${result.ips.map((ip) => ip.address).join(', ')}`);
  const out: Result = { cniVersion: args.config.cniVersion, ips: result.ips };
  if (result.routes.length > 0) out.routes = result.routes.map((r) => ({ ...r }));
  if (result.dns !== undefined) out.dns = result.dns;
  return out;
}

/**
 * DEL: releases what the owner holds; success when it holds nothing. Reads only the store's
 * location, so a config whose ranges no longer validate still releases.
 */
async function ipamDel(args: CmdArgs, session: SessionOptions): Promise<void> {
  const released = await release(parseStoreLocation(args.config), ownerOf(args), session);
  args.log?.debug(`ipam: released ${released.length > 0 ? released.join(', ') : 'nothing'} for ${args.containerId}/${args.ifname}`);
}

/**
 * CHECK: the owner holds its allocation. With a prevResult, it must hold exactly the prevResult
 * addresses that fall in this IPAM's subnets (other plugins of a chain may add their own).
 */
async function ipamCheck(args: CmdArgs, session: SessionOptions): Promise<void> {
  const config = parseIpamConfig(args.config, args.args);
  const ips = args.config.prevResult?.ips;
  const expected = ips === undefined || ips.length === 0 ? undefined : ips.map((ip) => ip.address).filter((a) => managesAddress(config, a));
  await check(config, ownerOf(args), expected, session);
}

/** GC: releases every allocation of this network whose attachment is not in the valid list. */
async function ipamGc(args: GcArgs, session: SessionOptions): Promise<void> {
  const owners = args.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname }));
  const released = await gc(parseStoreLocation(args.config), owners, session);
  if (released.length > 0) {
    args.log?.info(`ipam gc: released ${released.map((e) => `${e.address} (${e.owner.containerId}/${e.owner.ifname})`).join(', ')}`);
  }
}

/**
 * STATUS: the config is valid (else its own code, e.g. 7) and the store healthy now: opened (or
 * created where none is), every entry read back, and written. Anything else is code 50 "not
 * available" with the reason in details: busy, unwritable, or damaged (then how to repair it).
 */
async function ipamStatus(args: StatusArgs, session: SessionOptions): Promise<void> {
  const config = parseIpamConfig(args.config);
  try {
    const entries = await status(config, session);
    args.log?.debug(`ipam: store ${config.path} healthy, ${entries} entries`);
  } catch (err) {
    const reason = err instanceof IpamError ? `${err.message}${err.details ? `: ${err.details}` : ''}` : String(err);
    const busy = err instanceof IpamError && err.code === IpamErrorCode.TryAgainLater;
    const damaged = err instanceof IpamError && err.damaged;
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      damaged ? `IPAM store ${config.path} is damaged` : `IPAM store ${config.path} is not available`,
      busy ? `${reason} (ADD would wait the same way)` : damaged ? reason : `${reason}; expected a writable ipam.dataDir (${config.dataDir})`,
      { cause: err },
    );
  }
}

/**
 * The IPAM plugin over a given store session: the CNI executables open the store per call behind
 * the flock sidecar; a long-lived process (podnetd) passes a provider that keeps stores open.
 */
export function createIpamPlugin(session: SessionOptions): Plugin {
  return {
    add: (args) => ipamAdd(args, session),
    del: (args) => ipamDel(args, session),
    check: (args) => ipamCheck(args, session),
    gc: (args) => ipamGc(args, session),
    status: (args) => ipamStatus(args, session),
    knownArgs: IPAM_ARGS,
  };
}

/** The standalone `podnet-ipam` plugin, for the CNI skel (`pluginMain(ipamPlugin)`). */
export const ipamPlugin: Plugin = createIpamPlugin(CALL_SESSION);
