// The addresses the podnet-ipam store holds for a network, read through the store's own API.
// TODO(integration): wire to @podnet/core/ipam once the store lands.
export interface Allocation {
  ip: string;
  containerId: string;
  ifname: string;
}

export async function ipamAllocations(_dataDir: string, _network: string): Promise<Allocation[]> {
  return [];
}
