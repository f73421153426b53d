// The pod's side of a call: its netns (ADD and CHECK need it; code 8 when the path is not a
// network namespace) and one netlink socket opened inside it, used for everything there.
import { NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';

export class PodSide {
  #socket: NetlinkSocket | undefined;

  private constructor(readonly netns: NetNS) {}

  static open(path: string): PodSide {
    return new PodSide(NetNS.open(path));
  }

  get path(): string {
    return this.netns.path;
  }

  get nl(): NetlinkSocket {
    this.#socket ??= NetlinkSocket.open({ netns: this.netns });
    return this.#socket;
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
    this.netns.close();
  }
}
