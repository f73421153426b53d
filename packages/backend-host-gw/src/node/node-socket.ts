// The node half's netlink socket: opened on first use in the node's netns (or the agent's own),
// kept across reconciles, and dropped after any failure — a dump cut short can leave replies
// queued — so the next pass starts on a fresh one. Shared by the node halves (host-gw, VXLAN).
import { NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';

/** Room for a dump of thousands of routes, and a burst of their acks, without ENOBUFS. */
const RECEIVE_BUFFER = 4 * 1024 * 1024;

export class NodeSocket {
  #socket: NetlinkSocket | undefined;

  /** `netns`: the node's netns path; absent: the calling thread's. */
  constructor(
    private readonly netns: string | undefined,
    private readonly receiveBufferSize = RECEIVE_BUFFER,
  ) {}

  /** Runs `fn` on the socket; any failure closes it before the error goes up. */
  with<T>(fn: (sock: NetlinkSocket) => T): T {
    try {
      return fn(this.#open());
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }

  #open(): NetlinkSocket {
    if (this.#socket) return this.#socket;
    if (!this.netns) {
      this.#socket = NetlinkSocket.open({ receiveBufferSize: this.receiveBufferSize });
      return this.#socket;
    }
    // The socket keeps the netns it was opened in; the handle is needed only to open it.
    const ns = NetNS.open(this.netns);
    try {
      this.#socket = NetlinkSocket.open({ netns: ns, receiveBufferSize: this.receiveBufferSize });
    } finally {
      ns.close();
    }
    return this.#socket;
  }
}

/** Logs when a peer starts being skipped and when it stops: once each, not at every reconcile. */
export class SkipLog {
  #skipped = new Map<string, string>();

  constructor(
    private readonly backend: string,
    private readonly log: (level: 'warn' | 'info', message: string, fields: Record<string, unknown>) => void,
  ) {}

  update(skipped: ReadonlyArray<{ node: string; reason: string }>): void {
    const now = new Map(skipped.map((s) => [`${s.node}\0${s.reason}`, s.node]));
    for (const [key, node] of now) {
      if (!this.#skipped.has(key)) this.log('warn', `${this.backend}: peer ${node} skipped`, { node, reason: key.slice(node.length + 1) });
    }
    for (const [key, node] of this.#skipped) {
      if (!now.has(key)) this.log('info', `${this.backend}: peer ${node} no longer skipped`, { node, was: key.slice(node.length + 1) });
    }
    this.#skipped = now;
  }
}
