// The pod's side of a call: its netns (ADD and CHECK need it; code 8 when the path is not a
// network namespace) and one netlink socket opened inside it, used for everything there.
import { NetNS } from '@podnet/core/netns';
import { NetnsSide } from './netns-side.js';

export class PodSide extends NetnsSide<NetNS> {
  static open(path: string): PodSide {
    return new PodSide(NetNS.open(path));
  }

  get path(): string {
    return this.netns.path;
  }
}
