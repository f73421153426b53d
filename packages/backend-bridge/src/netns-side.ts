// What the node side and the pod side of a call share: a network namespace handle and one netlink
// socket opened inside it on first use (a socket keeps the netns it was opened in), closed together.
import { NetlinkSocket } from '@podnet/core/netlink';
import type { NetNS } from '@podnet/core/netns';

/** `N` is `undefined` for "the calling thread's own netns" (the node, as a runtime runs us). */
export abstract class NetnsSide<N extends NetNS | undefined> {
  #socket: NetlinkSocket | undefined;

  protected constructor(readonly netns: N) {}

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
