// What differs between the lab's backends: which CNI executable a node's runtime runs, the
// network config it passes, and whether nodes run an agent. host-gw needs no more than its type
// and the node's lease file; the IPAM store directory is set per node because every lab node
// shares this machine's filesystem (a real node has its own /var/lib).
import type { LabBackend, LabCniMode, LabState, NodeRecord } from './state.js';

/** How long a thin client waits for its node's podnetd (connect is bounded at 1 s by the client). */
export const DAEMON_TIMEOUT_MS = 30_000;

/**
 * The conflist's `daemon` key for `node`: its own socket in thick mode; `false` in embedded mode,
 * so a podnetd serving the default socket on this machine never takes a lab's calls.
 */
export function daemonKey(state: LabState, node: NodeRecord): { daemon: false | { socket: string; timeoutMs: number } } {
  if ((state.cniMode ?? 'embedded') === 'embedded') return { daemon: false };
  if (!node.cniSocket) throw new Error(`lab ${state.id} is in thick mode but node ${node.name} has no CNI socket`);
  return { daemon: { socket: node.cniSocket, timeoutMs: DAEMON_TIMEOUT_MS } };
}

export function parseCniMode(value: string): LabCniMode {
  if (value === 'embedded' || value === 'thick') return value;
  throw new Error(`--cni-mode: "${value}" is not one of embedded, thick`);
}

export interface BackendProfile {
  executable: string;
  /** host-gw: one podnetd per node; bridge: a single node with a static subnet, no agent. */
  agents: boolean;
  maxNodes: number;
  conflist(state: LabState, node: NodeRecord): Record<string, unknown>;
}

/**
 * A backend whose pod half reads the node's lease file (host-gw, VXLAN, and what the generator
 * adds): one podnetd per node, the conflist naming only the executable, the lease file and the
 * node's IPAM store (the ranges come from the lease).
 */
function leaseFileBackend(executable: string, maxNodes: number): BackendProfile {
  return {
    executable,
    agents: true,
    maxNodes,
    conflist: (state, node) => ({
      cniVersion: '1.0.0',
      name: state.cniNetwork,
      type: executable,
      leaseFile: node.agent?.leaseFile,
      ipam: { type: 'podnet-ipam', dataDir: node.ipamDir },
      ...daemonKey(state, node),
    }),
  };
}

export const BACKENDS: Record<LabBackend, BackendProfile> = {
  'host-gw': leaseFileBackend('podnet-host-gw', 250),
  // VXLAN: the same pod attach as host-gw, the tunnel in the agent.
  vxlan: leaseFileBackend('podnet-vxlan', 150),
  bridge: {
    executable: 'podnet-bridge',
    agents: false,
    maxNodes: 1,
    conflist: (state, node) => ({
      cniVersion: '1.0.0',
      name: state.cniNetwork,
      type: 'podnet-bridge',
      bridge: 'cni0',
      isDefaultGateway: true,
      ipMasq: true,
      ipam: { type: 'podnet-ipam', ranges: [[{ subnet: state.bridgeSubnet }]], dataDir: node.ipamDir },
      ...daemonKey(state, node),
    }),
  },
};

/** `--backend`: one of the profiles above (a backend added by the generator is one more entry). */
export function parseBackend(value: string): LabBackend {
  if (Object.hasOwn(BACKENDS, value)) return value as LabBackend;
  throw new Error(`--backend: "${value}" is not one of ${Object.keys(BACKENDS).join(', ')}`);
}
