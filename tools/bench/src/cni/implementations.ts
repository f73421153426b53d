// The two implementations compared, and the one network config both get. The configs differ only
// where they must: the plugin `type`, the IPAM `type` (each side's own store, as shipped: podnet's
// built-in `podnet-ipam` runs in-process, the reference executes `host-local`) and the IPAM
// `dataDir` (a separate temp dir per side). Each side runs in its own node netns, so even the
// network name, bridge name and subnet are the same.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { executable } from '@podnet/lab';

export type SideKey = 'podnet' | 'reference';

export interface Implementation {
  key: SideKey;
  /** How the table names it. */
  label: string;
  /** The executable a runtime starts (conflist `type` → `$CNI_PATH/<type>`). */
  binary: string;
  /** CNI_PATH for the call: where the IPAM delegate (if any) is found. */
  cniPath: string[];
  type: string;
  ipamType: string;
  /** Thick mode: the calls go to a `podnetd serve-cni` in the node netns (bench.ts starts it). */
  thick?: boolean;
  /** Its socket, once started. */
  daemonSocket?: string;
}

/** The podnet side in thick mode: the same executable, as a thin client of podnetd. */
export function thickVariant(impl: Implementation): Implementation {
  return { ...impl, label: `${impl.label} (thick: podnetd)`, thick: true };
}

/** Debian containernetworking-plugins 1.1.1. */
export const REFERENCE_DIR = '/usr/lib/cni';

/**
 * `podnetIpam: 'host-local'` makes podnet-bridge delegate to the reference's host-local instead of
 * its built-in store: same IPAM on both sides, so the difference left is the bridge plugin itself.
 */
export function implementations(opts: { podnetIpam?: 'podnet-ipam' | 'host-local' } = {}): Record<SideKey, Implementation> {
  for (const name of ['bridge', 'host-local']) {
    const file = path.join(REFERENCE_DIR, name);
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: apt-get install containernetworking-plugins (the reference the benchmark compares with)`);
    }
  }
  const podnet = executable('podnet-bridge');
  const delegate = opts.podnetIpam === 'host-local';
  return {
    podnet: {
      key: 'podnet',
      label: delegate ? 'podnet-bridge + host-local' : 'podnet-bridge + podnet-ipam',
      binary: podnet,
      cniPath: delegate ? [REFERENCE_DIR] : [path.dirname(podnet)],
      type: 'podnet-bridge',
      ipamType: delegate ? 'host-local' : 'podnet-ipam',
    },
    reference: {
      key: 'reference',
      label: 'bridge + host-local (Go 1.1.1)',
      binary: path.join(REFERENCE_DIR, 'bridge'),
      cniPath: [REFERENCE_DIR],
      type: 'bridge',
      ipamType: 'host-local',
    },
  };
}

export interface NetworkShape {
  /** Network name; the same on both sides. */
  name: string;
  bridge: string;
  subnet: string;
  ipMasq: boolean;
}

/** The network config a runtime would send: podman's default shape (gateway, default route). */
export function networkConfig(impl: Implementation, shape: NetworkShape, dataDir: string): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: shape.name,
    type: impl.type,
    bridge: shape.bridge,
    isGateway: true,
    ipMasq: shape.ipMasq,
    ...(impl.daemonSocket ? { daemon: { socket: impl.daemonSocket, timeoutMs: 60_000 } } : {}),
    ipam: {
      type: impl.ipamType,
      ranges: [[{ subnet: shape.subnet }]],
      routes: [{ dst: '0.0.0.0/0' }],
      dataDir,
    },
  };
}
