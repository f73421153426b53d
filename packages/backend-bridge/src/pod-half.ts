// The bridge pod half as a CNI Plugin. host-gw and VXLAN reuse it: same verbs, their own
// `resolveConfig` (the node lease subnet as IPAM range, the MTU, the cluster range never masqueraded).
import type { Plugin } from '@podnet/core/cni';
import { add } from './add.js';
import { check } from './check.js';
import { BRIDGE_ARGS } from './context.js';
import type { BridgePodHalfOptions } from './context.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { status } from './status.js';

export function createBridgePodHalf(options: BridgePodHalfOptions = {}): Plugin {
  return {
    add: (args) => add(options, args),
    del: (args) => del(options, args),
    check: (args) => check(options, args),
    gc: (args) => gc(options, args),
    status: (args) => status(options, args),
    knownArgs: BRIDGE_ARGS,
  };
}
