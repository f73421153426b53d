// The VXLAN options of the network config's `Backend` section (flannel's keys), parsed and
// validated here: the cluster package keeps the section as it is stored. Every error names the
// field as an operator writes it (`Backend.VNI`).

/** flannel's defaults: VNI 1, Linux's legacy VXLAN port 8472 (not IANA's 4789). */
export const DEFAULT_VNI = 1;
export const DEFAULT_PORT = 8472;
const MAX_VNI = 0xffffff;
/** Below this an IPv6 overlay cannot run at all (RFC 8200); IPv4 needs 68. */
const MIN_MTU = 68;

export interface VxlanOptions {
  vni: number;
  port: number;
  /** Explicit device and pod MTU; absent: underlay MTU minus the encapsulation. */
  mtu?: number;
  /** Peers on this node's L2 segment get a plain host-gw route instead of the tunnel. */
  directRouting: boolean;
  /** VXLAN-GBP (carry the packet mark's group policy ID); every node must agree. */
  gbp: boolean;
  /** Kernel FDB learning from received packets; off: every entry is programmed. */
  learning: boolean;
}

const KEYS = ['Type', 'VNI', 'Port', 'MTU', 'DirectRouting', 'GBP', 'Learning'] as const;

export class VxlanConfigError extends Error {
  override readonly name = 'VxlanConfigError';
}

export function parseVxlanOptions(backend: Readonly<Record<string, unknown>> | undefined): VxlanOptions {
  const b = backend ?? {};
  const type = b['Type'];
  if (type !== undefined && type !== 'vxlan') throw new VxlanConfigError(`"Backend.Type" is ${JSON.stringify(type)}: these are the vxlan backend's options`);
  // An unknown key is most often a typo of a known one (Vni, Directrouting): silently ignoring it
  // would run the cluster with a default the operator did not mean.
  for (const key of Object.keys(b)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new VxlanConfigError(`"Backend.${key}" is not a vxlan option (known: ${KEYS.filter((k) => k !== 'Type').join(', ')})`);
    }
  }
  const vni = integer(b, 'VNI', 0, MAX_VNI) ?? DEFAULT_VNI;
  // flannel: Port 0 means the kernel's default, which is 8472.
  const port = integer(b, 'Port', 0, 65535) || DEFAULT_PORT;
  const mtu = integer(b, 'MTU', MIN_MTU, 65535);
  return {
    vni,
    port,
    ...(mtu !== undefined ? { mtu } : {}),
    directRouting: flag(b, 'DirectRouting'),
    gbp: flag(b, 'GBP'),
    learning: flag(b, 'Learning'),
  };
}

function integer(b: Readonly<Record<string, unknown>>, key: string, min: number, max: number): number | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new VxlanConfigError(`"Backend.${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

function flag(b: Readonly<Record<string, unknown>>, key: string): boolean {
  const v = b[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new VxlanConfigError(`"Backend.${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14); IPv6's outer header is 40. */
export function encapsulation(underlayFamily: 4 | 6): number {
  return underlayFamily === 6 ? 70 : 50;
}

/**
 * The MTU of a device over an underlay of `underlayFamily`: `Backend.MTU` when given, else what
 * the underlay carries after encapsulation. An MTU the underlay cannot carry is refused: packets
 * of that size would be dropped on the way instead of refused at the sender.
 */
export function overlayMtu(underlayMtu: number, underlayFamily: 4 | 6, options: Pick<VxlanOptions, 'mtu'>): number {
  const fits = underlayMtu - encapsulation(underlayFamily);
  if (options.mtu === undefined) return fits;
  if (options.mtu > fits) {
    throw new VxlanConfigError(
      `"Backend.MTU" ${options.mtu} does not fit the underlay: MTU ${underlayMtu} over IPv${underlayFamily} carries at most ${fits} (${encapsulation(underlayFamily)} bytes of VXLAN encapsulation)`,
    );
  }
  return options.mtu;
}
