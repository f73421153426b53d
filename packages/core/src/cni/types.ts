// CNI spec 1.1.0 data types: what a runtime sends on stdin and what a plugin prints.
// Field names follow the spec exactly so these types are also the wire format.

export type CniVersion = '0.3.0' | '0.3.1' | '0.4.0' | '1.0.0' | '1.1.0';

export type Command = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

/** DNS settings, in results and in plugin configs. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A route as results and IPAM configs carry it. */
export interface RouteEntry {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  /** The netns path for container interfaces; absent on the host. */
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IpConfig {
  /** CIDR notation: the address with its prefix, e.g. "10.22.0.5/24". */
  address: string;
  gateway?: string;
  /** Index into `interfaces`; IPAM results leave it out. */
  interface?: number;
}

/** A result in the latest shape (1.1.0). Older versions are produced by `convertResult`. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IpConfig[];
  routes?: RouteEntry[];
  dns?: Dns;
}

/** One attachment a runtime still considers valid (GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The `ipam` section of a plugin config. Backends pass it to the IPAM untouched. */
export interface IpamSection {
  type?: string;
  [key: string]: unknown;
}

/** One plugin's config as it arrives on stdin (libcni injects name, cniVersion, prevResult, runtimeConfig). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  ipam?: IpamSection;
  dns?: Dns;
  capabilities?: Record<string, boolean>;
  runtimeConfig?: Record<string, unknown>;
  args?: Record<string, unknown>;
  prevResult?: Result;
  /** GC: the attachments to keep. libcni sends both spellings. */
  'cni.dev/valid-attachments'?: Attachment[];
  'cni.dev/attachments'?: Attachment[];
  [key: string]: unknown;
}

/** A conflist: what an operator writes in /etc/cni/net.d. */
export interface NetConfList {
  cniVersion: string;
  cniVersions?: string[];
  name: string;
  disableCheck?: boolean;
  disableGC?: boolean;
  plugins: Array<Omit<NetConf, 'cniVersion' | 'name'> & { type: string }>;
}
