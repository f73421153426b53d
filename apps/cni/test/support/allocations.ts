// The addresses the podnet-ipam store holds for a network, read through the IPAM's own public API
// (`@podnet/core/ipam`, the entry a downstream project uses), between plugin calls.
import { list, parseStoreLocation } from '@podnet/core/ipam';

export interface Allocation {
  ip: string;
  containerId: string;
  ifname: string;
}

export async function ipamAllocations(dataDir: string, network: string): Promise<Allocation[]> {
  const entries = await list(parseStoreLocation({ name: network, ipam: { type: 'podnet-ipam', dataDir } }));
  return entries.map((e) => ({ ip: e.address, containerId: e.owner.containerId, ifname: e.owner.ifname }));
}
