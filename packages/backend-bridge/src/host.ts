// The node side of a call: the node's netns (the caller's own, unless a test names one), a way
// to run synchronous work in it (sysctls, process spawns), and one netlink socket opened there
// lazily (DEL of a never-added pod and STATUS may not need it).
import { NetNS } from '@podnet/core/netns';
import { NetnsSide } from './netns-side.js';
import type { Enter } from './nft.js';

export class HostSide extends NetnsSide<NetNS | undefined> {
  static open(path: string | undefined): HostSide {
    return new HostSide(path ? NetNS.open(path) : undefined);
  }

  /** Run synchronous work in the node's netns. */
  readonly enter: Enter = (fn) => (this.netns ? this.netns.run(fn) : fn());
}
