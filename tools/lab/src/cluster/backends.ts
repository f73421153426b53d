// What differs between the lab's backends: which CNI executable a node's runtime runs, the
// network config it passes, and whether nodes run an agent. host-gw needs no more than its type
// and the node's lease file; the IPAM store directory is set per node because every lab node
// shares this machine's filesystem (a real node has its own /var/lib).
import type { LabBackend, LabState, NodeRecord } from './state.js';

export interface BackendProfile {
  executable: string;
  /** host-gw: one podnetd per node; bridge: a single node with a static subnet, no agent. */
  agents: boolean;
  maxNodes: number;
  conflist(state: LabState, node: NodeRecord): Record<string, unknown>;
}

export const BACKENDS: Record<LabBackend, BackendProfile> = {
  'host-gw': {
    executable: 'podnet-host-gw',
    agents: true,
    maxNodes: 250,
    conflist: (state, node) => ({
      cniVersion: '1.0.0',
      name: state.cniNetwork,
      type: 'podnet-host-gw',
      leaseFile: node.agent?.leaseFile,
      // Only the store location: the ranges still come from the lease (host-gw fills in what is not given).
      ipam: { type: 'podnet-ipam', dataDir: node.ipamDir },
    }),
  },
  // VXLAN: the same pod attach as host-gw (the pod half reads the lease file), the tunnel in the agent.
  vxlan: {
    executable: 'podnet-vxlan',
    agents: true,
    maxNodes: 150,
    conflist: (state, node) => ({
      cniVersion: '1.0.0',
      name: state.cniNetwork,
      type: 'podnet-vxlan',
      leaseFile: node.agent?.leaseFile,
      ipam: { type: 'podnet-ipam', dataDir: node.ipamDir },
    }),
  },
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
    }),
  },
};

export function parseBackend(value: string): LabBackend {
  if (value === 'host-gw' || value === 'vxlan' || value === 'bridge') return value;
  throw new Error(`--backend: "${value}" is not one of host-gw, vxlan, bridge`);
}
