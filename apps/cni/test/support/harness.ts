// One e2e fixture per test file: a lab with one node, an IPAM directory, a network name and a
// bridge name, all unique (prefix pnt-e), and the helpers to call the compiled executables the
// way a runtime does and to look at what they left in the kernel and in the IPAM store.
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { executable, Lab, links, nftRuleset, type CniInvocation, type CniOutcome, type LabNode, type LabPod } from '@podnet/lab';
import { E2E_PREFIX } from './names.ts';
import { ipamAllocations, type Allocation } from './allocations.ts';

export const REFERENCE_BRIDGE = '/usr/lib/cni/bridge';

/** The executables under test (dist/bin, built by the global setup). */
export const bin = {
  get bridge(): string {
    return executable('podnet-bridge');
  },
  get ipam(): string {
    return executable('podnet-ipam');
  },
  get hostGw(): string {
    return executable('podnet-host-gw');
  },
};

/** CNI_PATH as a runtime configured with podnet and the Debian plugins would pass it. */
export function cniPath(): string[] {
  return [path.dirname(bin.bridge), '/usr/lib/cni'];
}

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

export interface Snapshot {
  /** Links in the node namespace besides lo. */
  nodeLinks: string[];
  /** Links in each given pod namespace besides lo. */
  podLinks: Record<string, string[]>;
  allocations: Allocation[];
  /** `nft list ruleset` of the node namespace. */
  nft: string;
}

/**
 * How the executables run in this file: `embedded` (each call does the work itself, the default)
 * or `thick` (PODNET_E2E_MODE=thick: a `podnetd serve-cni` in the node netns does it, the
 * executables are thin clients; the configs carry its socket).
 */
export type E2eMode = 'embedded' | 'thick';

export function e2eMode(): E2eMode {
  return process.env.PODNET_E2E_MODE === 'thick' ? 'thick' : 'embedded';
}

/** The thick-mode daemon of a fixture. */
export interface E2eDaemon {
  socket: string;
  process: ChildProcess;
  /** Start it again (after a test killed it). */
  restart(): Promise<void>;
}

export class E2e {
  /** Set in thick mode. */
  daemon: E2eDaemon | undefined;

  private constructor(
    readonly lab: Lab,
    readonly node: LabNode,
    /** The podnet-ipam store directory of this file's networks. */
    readonly dataDir: string,
    /** The network name (`name` in the config). */
    readonly network: string,
    /** The bridge the podnet configs of this file use. */
    readonly bridge: string,
    readonly subnet: string,
  ) {}

  static async create(subnet = '10.250.0.0/24', mode: E2eMode = e2eMode()): Promise<E2e> {
    const lab = new Lab({ prefix: E2E_PREFIX });
    try {
      const node = await lab.addNode('node');
      const dataDir = await lab.tempDir('ipam');
      const e = new E2e(lab, node, dataDir, `${lab.id}-net`, lab.linkName('br'), subnet);
      if (mode === 'thick') {
        const socket = path.join(await lab.tempDir('cni'), 'cni.sock');
        const daemon: E2eDaemon = {
          socket,
          process: await lab.serveCni(node, socket),
          async restart() {
            daemon.process = await lab.serveCni(node, socket);
          },
        };
        e.daemon = daemon;
      }
      return e;
    } catch (err) {
      await lab.destroy();
      throw err;
    }
  }

  addPod(name: string): Promise<LabPod> {
    return this.lab.addPod(this.node, name);
  }

  /** The `ipam` section for the built-in IPAM over `subnet`. */
  ipam(subnet = this.subnet, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { type: 'podnet-ipam', ranges: [[{ subnet }]], dataDir: this.dataDir, ...extra };
  }

  /** A podnet-bridge config (cniVersion 1.0.0, default gateway) with `overrides` on top. */
  config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: '1.0.0',
      name: this.network,
      type: 'podnet-bridge',
      bridge: this.bridge,
      isDefaultGateway: true,
      ipam: this.ipam(),
      ...(this.daemon ? { daemon: { socket: this.daemon.socket, timeoutMs: 30_000 } } : {}),
      ...overrides,
    };
  }

  /** Runs `binary` (default podnet-bridge) for `pod` inside the node, as the runtime would. */
  call(pod: LabPod, command: CniInvocation['command'], config: unknown, more: Partial<CniInvocation> = {}, binary = bin.bridge): Promise<CniOutcome> {
    return this.node.cni(binary, pod.invocation(command, config, { path: cniPath(), ...more }));
  }

  /** Runs `binary` with a hand-made invocation (GC, STATUS, missing variables). */
  raw(inv: CniInvocation, binary = bin.bridge): Promise<CniOutcome> {
    return this.node.cni(binary, inv);
  }

  async snapshot(pods: readonly LabPod[] = [], network = this.network): Promise<Snapshot> {
    const names = async (ns: LabPod['netns']): Promise<string[]> =>
      (await links(ns))
        .map((l) => l.ifname)
        .filter((n) => n !== 'lo')
        .sort();
    const podLinks: Record<string, string[]> = {};
    for (const pod of pods) podLinks[pod.name] = await names(pod.netns);
    return {
      nodeLinks: await names(this.node.netns),
      podLinks,
      allocations: await ipamAllocations(this.dataDir, network),
      nft: await nftRuleset(this.node.netns),
    };
  }

  destroy(): Promise<void> {
    return this.lab.destroy();
  }
}
