// The demo's view of the IPAM store: the addresses still allocated in a network, read through the
// public `@podnet/core/ipam` entry (no kernel code), as any downstream program would.
import { list, parseStoreLocation } from '@podnet/core/ipam';

export async function ipamAllocations(dataDir: string, network: string): Promise<string[]> {
  const entries = await list(parseStoreLocation({ name: network, ipam: { type: 'podnet-ipam', dataDir } }));
  return entries.map((e) => `${e.address} (${e.owner.containerId.slice(0, 12)}/${e.owner.ifname})`);
}
