import { describe, expect, it } from 'vitest';
import type { NetConf } from '@podnet/core/cni';
import { parseBridgeConfig } from './config.js';

const base = { cniVersion: '1.0.0', name: 'pnt-net', type: 'podnet-bridge' };
const ipam = { type: 'podnet-ipam', ranges: [[{ subnet: '10.22.0.0/24' }]] };
const opts = { defaultBridge: 'podnet0' };

function parse(extra: Record<string, unknown>, cniArgs: Record<string, string> = {}) {
  return parseBridgeConfig({ ...base, ...extra } as NetConf, cniArgs, opts);
}

function failure(fn: () => unknown): { code: number; msg: string; details: string } {
  try {
    fn();
  } catch (err) {
    const e = err as { code: number; msg: string; details: string };
    return { code: e.code, msg: e.msg, details: e.details };
  }
  throw new Error('expected a failure');
}

describe('parseBridgeConfig', () => {
  it('applies the defaults', () => {
    expect(parse({})).toEqual({
      network: 'pnt-net',
      cniVersion: '1.0.0',
      bridge: 'podnet0',
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: false,
      ipMasq: false,
      hairpinMode: false,
      promiscMode: false,
      masqExempt: [],
      portMappings: [],
    });
  });

  it('reads runtimeConfig.portMappings in both casings, and refuses them without IPAM', () => {
    const ipam = { type: 'podnet-ipam' };
    const c = parse({
      ipam,
      runtimeConfig: {
        portMappings: [
          { HostPort: 8080, ContainerPort: 80, Protocol: 'tcp', HostIP: '' },
          { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '127.0.0.1' },
        ],
      },
    });
    expect(c.portMappings).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', host: { kind: 'any' } },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', host: { kind: 'address', address: '127.0.0.1', family: 4 } },
    ]);
    expect(() => parse({ runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1 }] } })).toThrow(/without "ipam"/);
    expect(() => parse({ ipam, runtimeConfig: { portMappings: [{ hostPort: 0, containerPort: 80 }] } })).toThrow(/portMappings\[0\]\.hostPort/);
  });

  it('reads every bridge key', () => {
    const c = parse({
      bridge: 'br-x',
      forceAddress: true,
      ipMasq: true,
      mtu: 1400,
      hairpinMode: true,
      vlan: 100,
      dns: { nameservers: ['10.0.0.10'], domain: 'cluster.local', search: ['a'], options: ['ndots:5'] },
      ipam,
    });
    expect(c).toMatchObject({
      bridge: 'br-x',
      isGateway: false,
      isDefaultGateway: false,
      forceAddress: true,
      ipMasq: true,
      mtu: 1400,
      hairpinMode: true,
      promiscMode: false,
      vlan: 100,
      dns: { nameservers: ['10.0.0.10'], domain: 'cluster.local', search: ['a'], options: ['ndots:5'] },
      ipam,
    });
  });

  it('isDefaultGateway implies isGateway', () => {
    expect(parse({ isDefaultGateway: true, ipam })).toMatchObject({ isGateway: true, isDefaultGateway: true });
  });

  it('accepts the standard keys and cni.dev/* keys', () => {
    expect(() =>
      parse({
        capabilities: { mac: true },
        runtimeConfig: { ips: ['10.22.0.9/24'] },
        args: { cni: { ips: ['10.22.0.9'] } },
        prevResult: { cniVersion: '1.0.0' },
        logFile: '/tmp/x.log',
        logLevel: 'debug',
        'cni.dev/valid-attachments': [],
        'cni.dev/anything': 1,
      }),
    ).not.toThrow();
  });

  it('vlan 0 means no VLAN', () => {
    expect(parse({ vlan: 0 }).vlan).toBeUndefined();
  });

  it('an empty ipam section is L2 only', () => {
    expect(parse({ ipam: {} }).ipam).toBeUndefined();
  });

  it.each([
    ['someKey', 'unknown config key "someKey"'],
    ['ipMasqBackend', 'unsupported config key "ipMasqBackend"'],
    ['vlanTrunk', 'unsupported config key "vlanTrunk"'],
    ['macspoofchk', 'unsupported config key "macspoofchk"'],
  ])('an unknown or unimplemented key %s is code 2 naming it', (key, msg) => {
    const f = failure(() => parse({ [key]: true }));
    expect(f.code).toBe(2);
    expect(f.msg).toContain(msg);
  });

  it('an unknown dns key is code 2', () => {
    const f = failure(() => parse({ dns: { server: 'x' } }));
    expect(f).toMatchObject({ code: 2 });
    expect(f.msg).toContain('dns.server');
  });

  it.each([
    ['bridge', 7],
    ['bridge', ''],
    ['bridge', 'this-name-is-too-long'],
    ['bridge', 'br/0'],
    ['bridge', 'br 0'],
    ['bridge', '..'],
    ['isGateway', 'yes'],
    ['isDefaultGateway', 1],
    ['forceAddress', 'true'],
    ['ipMasq', null],
    ['hairpinMode', 0],
    ['promiscMode', 'no'],
    ['mtu', '1500'],
    ['mtu', 1500.5],
    ['mtu', 67],
    ['mtu', 65536],
    ['vlan', -100],
    ['vlan', 5000],
    ['vlan', '100'],
    ['dns', 'x'],
    ['dns.nameservers', { nameservers: '10.0.0.1' }],
    ['dns.domain', { domain: 1 }],
    ['ipam', []],
    ['ipam.type', { type: 5 }],
    ['ipam.type', { type: '../x' }],
    ['ipam.type', { ranges: [] }],
    ['capabilities', true],
    ['runtimeConfig', 'x'],
    ['args', []],
    ['logFile', 1],
  ])('a bad %s (%j) is code 7 naming it', (field, value) => {
    const key = field.split('.')[0]!;
    const conf = field.includes('.') && typeof value === 'object' && !Array.isArray(value) ? { [key]: value } : { [key]: value };
    const f = failure(() => parse(conf));
    expect(f.code).toBe(7);
    expect(f.msg).toContain(`"${field}"`);
    expect(f.details).toMatch(/^expected /);
  });

  it('hairpinMode with promiscMode is code 7 naming both', () => {
    const f = failure(() => parse({ hairpinMode: true, promiscMode: true }));
    expect(f.code).toBe(7);
    expect(f.msg).toContain('hairpinMode');
    expect(f.msg).toContain('promiscMode');
  });

  it.each(['isGateway', 'isDefaultGateway'])('vlan with %s is code 7 naming both', (key) => {
    const f = failure(() => parse({ vlan: 10, [key]: true, ipam }));
    expect(f.code).toBe(7);
    expect(f.msg).toContain('"vlan"');
    expect(f.msg).toContain(key);
  });

  it.each(['isGateway', 'isDefaultGateway', 'ipMasq'])('%s without an IPAM type is code 7', (key) => {
    const f = failure(() => parse({ [key]: true }));
    expect(f.code).toBe(7);
    expect(f.msg).toContain(key);
    expect(f.msg).toContain('ipam');
  });

  it('a bad network name is code 7', () => {
    expect(failure(() => parse({ name: '-bad' })).code).toBe(7);
  });

  describe('MAC', () => {
    it('takes runtimeConfig.mac over args.cni.mac over CNI_ARGS MAC', () => {
      const r = { mac: '0a:00:00:00:00:03' };
      const a = { cni: { mac: '0a:00:00:00:00:02' } };
      const e = { MAC: '0a:00:00:00:00:01' };
      expect(parse({}, e).mac).toBe('0a:00:00:00:00:01');
      expect(parse({ args: a }, e).mac).toBe('0a:00:00:00:00:02');
      expect(parse({ args: a, runtimeConfig: r }, e).mac).toBe('0a:00:00:00:00:03');
    });

    it('normalizes to lower case', () => {
      expect(parse({}, { MAC: '0A:BC:00:00:00:01' }).mac).toBe('0a:bc:00:00:00:01');
    });

    it.each([
      ['CNI_ARGS MAC', {}, { MAC: 'zz:00:00:00:00:01' }],
      ['CNI_ARGS MAC', {}, { MAC: '01:00:5e:00:00:01' }],
      ['CNI_ARGS MAC', {}, { MAC: '00:00:00:00:00:00' }],
      ['args.cni.mac', { args: { cni: { mac: 5 } } }, {}],
      ['args.cni', { args: { cni: 'x' } }, {}],
      ['runtimeConfig.mac', { runtimeConfig: { mac: '0a:00:00:00:00' } }, {}],
    ])('rejects a bad %s', (field, extra, env) => {
      const f = failure(() => parse(extra, env));
      expect(f.code).toBe(7);
      expect(f.msg).toContain(`"${field}"`);
    });
  });
});
