// The node side of a call: the node's netns (the caller's own, unless a test names one), a way
// to run synchronous work in it (sysctls, process spawns), and one netlink socket opened there
// lazily (DEL of a never-added pod and STATUS may not need it).
import { NetNS } from '@podnet/core/netns';
import { NetlinkSocket } from '@podnet/core/netlink';
import type { Enter } from './nft.js';

export class HostSide {
  #socket: NetlinkSocket | undefined;

  private constructor(readonly netns: NetNS | undefined) {}

  static open(path: string | undefined): HostSide {
    return new HostSide(path ? NetNS.open(path) : undefined);
  }

  /** Run synchronous work in the node's netns. */
  readonly enter: Enter = (fn) => (this.netns ? this.netns.run(fn) : fn());

  get nl(): NetlinkSocket {
    this.#socket ??= NetlinkSocket.open(this.netns ? { netns: this.netns } : {});
    return this.#socket;
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
    this.netns?.close();
  }
}
