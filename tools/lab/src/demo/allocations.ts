// The demo's view of the IPAM store: the addresses still allocated in a network.
// TODO(integration): read through the @podnet/core/ipam store API once it lands.
export async function ipamAllocations(_dataDir: string, _network: string): Promise<string[]> {
  return [];
}
