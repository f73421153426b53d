// Which node half runs for a network config's Backend.Type: one line per backend, loaded on
// demand (an import, not side-effect registration), so a backend a cluster does not use is never
// loaded.
import type { NodeHalfFactory } from '@podnet/core/backend';

export type BackendRegistry = Readonly<Record<string, () => Promise<NodeHalfFactory>>>;

export const BACKENDS: BackendRegistry = {
  'host-gw': async () => (await import('@podnet/backend-host-gw')).backend.node,
  vxlan: async () => (await import('@podnet/backend-vxlan')).backend.node,
};

export async function nodeHalfFor(type: string, registry: BackendRegistry = BACKENDS): Promise<NodeHalfFactory> {
  const load = Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (!load) throw new Error(`network config "Backend.Type" "${type}": podnetd has no node half for it (known: ${Object.keys(registry).join(', ')})`);
  return load();
}
