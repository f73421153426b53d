// STATUS: can an ADD work now? Code 50 when the bridge name is taken by a link that is not a
// bridge, or when the IPAM (its store, or the delegate's own STATUS) says it cannot serve.
import { CniError, ErrorCode, toCniError } from '@podnet/core/cni';
import type { StatusArgs } from '@podnet/core/cni';
import { bridgeUsable } from './bridge-device.js';
import type { BridgePodHalfOptions } from './context.js';
import { openCall } from './context.js';

export async function status(options: BridgePodHalfOptions, args: StatusArgs): Promise<void> {
  const call = await openCall(options, args.config, {});
  const { cfg, host, ipam } = call;
  try {
    const problem = bridgeUsable(host, cfg.bridge);
    if (problem) throw new CniError(ErrorCode.PluginNotAvailable, `bridge "${cfg.bridge}" cannot be used`, problem);
    if (ipam) {
      try {
        await ipam.status(args);
      } catch (err) {
        const e = toCniError(err);
        if (e.code === ErrorCode.PluginNotAvailable || e.code === ErrorCode.PluginNotAvailableLimitedConnectivity) throw e;
        throw new CniError(ErrorCode.PluginNotAvailable, `IPAM "${ipam.type}" is not available: ${e.msg}`, e.details, { cause: err });
      }
    }
  } finally {
    call.close();
  }
}
