import { describe, expect, it } from 'vitest';
import type { CmdArgs, NetConf, Plugin } from '@podnet/core/cni';
import { IPAM_ARGS } from '@podnet/core/ipam-plugin';
import { Ipam } from './ipam.js';
import { createBridgePodHalf } from './pod-half.js';

const config = { cniVersion: '1.0.0', name: 'n', type: 'podnet-bridge', ipam: { type: 'podnet-ipam' } } as NetConf;
const args = { containerId: 'c', ifname: 'eth0', args: {}, path: [], config, stdin: Buffer.from('{}'), env: {} } as CmdArgs;

describe('Ipam (built-in, in-process)', () => {
  it('passes the (possibly rewritten) config and releases after a failed ADD', async () => {
    const calls: string[] = [];
    const rewritten = { ...config, ipam: { type: 'podnet-ipam', ranges: [[{ subnet: '10.1.0.0/24' }]] } } as NetConf;
    const plugin: Plugin = {
      add: async (a) => {
        calls.push(`add ${JSON.stringify(a.config.ipam)}`);
        throw new Error('exhausted');
      },
      del: async () => void calls.push('del'),
      check: async () => {},
    };
    const ipam = new Ipam({ builtin: plugin }, 'podnet-ipam', rewritten, true);
    await expect(ipam.add(args)).rejects.toThrow('exhausted');
    expect(calls).toEqual([`add ${JSON.stringify(rewritten.ipam)}`, 'del']);
  });

  it('a built-in without gc/status does nothing for them', async () => {
    const ipam = new Ipam(
      { builtin: { add: async () => ({ cniVersion: '1.0.0' }), del: async () => {}, check: async () => {} } },
      'podnet-ipam',
      config,
      false,
    );
    await expect(ipam.gc({ path: [], config, stdin: Buffer.from(''), env: {}, validAttachments: [] })).resolves.toBeUndefined();
    await expect(ipam.status({ path: [], config, stdin: Buffer.from(''), env: {} })).resolves.toBeUndefined();
  });
});

describe('the bridge and its built-in IPAM', () => {
  it('accepts every CNI_ARGS key the IPAM reads or tolerates, and MAC', () => {
    expect(createBridgePodHalf().knownArgs).toEqual(expect.arrayContaining(['MAC', ...IPAM_ARGS]));
  });
});
