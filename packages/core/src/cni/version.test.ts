import { describe, expect, it } from 'vitest';
import type { CniError } from './errors.js';
import { convertResult, parseResult } from './result.js';
import { errorOf } from './testing/error-of.js';
import type { Result } from './types.js';
import { compareVersions, isSupportedVersion, LATEST_VERSION, SUPPORTED_VERSIONS, versionAtLeast, versionInfo } from './version.js';

// A 1.1.0 result using every field the spec defines.
const full: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'podnet0', mac: '0a:58:0a:16:00:01', mtu: 1500 },
    { name: 'eth0', mac: '0a:58:0a:16:00:05', mtu: 1450, sandbox: '/run/netns/pod', socketPath: '/run/x.sock', pciID: '0000:00:1f.6' },
  ],
  ips: [
    { address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 1 },
    { address: 'fd00:22::5/64', gateway: 'fd00:22::1', interface: 1 },
  ],
  routes: [{ dst: '0.0.0.0/0', gw: '10.22.0.1', mtu: 1400, advmss: 1360, priority: 100, table: 254, scope: 0 }, { dst: '::/0' }],
  dns: { nameservers: ['10.22.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] },
};

const dns = { nameservers: ['10.22.0.1'], domain: 'cluster.local', search: ['svc.cluster.local'], options: ['ndots:5'] };
const interfaces100 = [
  { name: 'podnet0', mac: '0a:58:0a:16:00:01' },
  { name: 'eth0', mac: '0a:58:0a:16:00:05', sandbox: '/run/netns/pod' },
];
const routes100 = [{ dst: '0.0.0.0/0', gw: '10.22.0.1' }, { dst: '::/0' }];

// Golden wire objects per version, written from the spec's result sections.
const golden: Record<string, unknown> = {
  '1.1.0': { ...full, cniVersion: '1.1.0' },
  '1.0.0': { cniVersion: '1.0.0', interfaces: interfaces100, ips: full.ips, routes: routes100, dns },
  ...Object.fromEntries(
    ['0.4.0', '0.3.1', '0.3.0'].map((v) => [
      v,
      {
        cniVersion: v,
        interfaces: interfaces100,
        ips: [
          { version: '4', interface: 1, address: '10.22.0.5/24', gateway: '10.22.0.1' },
          { version: '6', interface: 1, address: 'fd00:22::5/64', gateway: 'fd00:22::1' },
        ],
        routes: routes100,
        dns,
      },
    ]),
  ),
};

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return (err as CniError).code;
  }
  return undefined;
}

describe('versions', () => {
  it('supports exactly 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0', () => {
    expect(SUPPORTED_VERSIONS).toEqual(['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    expect(LATEST_VERSION).toBe('1.1.0');
    for (const v of SUPPORTED_VERSIONS) expect(isSupportedVersion(v)).toBe(true);
    for (const v of ['0.1.0', '0.2.0', '1.2.0', '1.0', '', 1, undefined]) expect(isSupportedVersion(v)).toBe(false);
  });

  it('compares numerically, not as strings', () => {
    expect(compareVersions('0.4.0', '0.10.0')).toBe(-1);
    expect(compareVersions('1.1.0', '1.0.0')).toBe(1);
    expect(compareVersions('0.3.1', '0.3.1')).toBe(0);
    expect(versionAtLeast('0.4.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('0.3.1', '0.4.0')).toBe(false);
    expect(versionAtLeast('1.1.0', '0.4.0')).toBe(true);
    expect(codeOf(() => compareVersions('1.0', '1.0.0'))).toBe(1);
  });

  it('answers VERSION with the echoed or latest version', () => {
    expect(versionInfo('1.0.0')).toEqual({ cniVersion: '1.0.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    expect(versionInfo()).toEqual({ cniVersion: '1.1.0', supportedVersions: [...SUPPORTED_VERSIONS] });
    expect(versionInfo(7).cniVersion).toBe('1.1.0');
  });
});

describe('convertResult', () => {
  for (const v of SUPPORTED_VERSIONS) {
    it(`prints ${v}`, () => {
      expect(convertResult(full, v)).toEqual(golden[v]);
    });
    it(`reads back what it printed in ${v}`, () => {
      const back = parseResult(JSON.stringify(convertResult(full, v)), v);
      const expected = v === '1.1.0' ? full : { ...(golden['1.0.0'] as object), cniVersion: '1.1.0' };
      expect(back).toEqual(expected);
    });
  }

  it('omits absent sections and does not leak unknown fields', () => {
    const r = { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', extra: 1 }] } as unknown as Result;
    expect(convertResult(r, '0.4.0')).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.0.2/24' }] });
    expect(convertResult({ cniVersion: '1.1.0' }, '1.0.0')).toEqual({ cniVersion: '1.0.0' });
  });

  it('refuses an unsupported target version (code 1)', () => {
    const e = errorOf(() => convertResult(full, '0.2.0'));
    expect(e.code).toBe(1);
    expect(e.msg).toContain('"0.2.0"');
    expect(e.details).toContain('1.1.0');
  });
});

describe('parseResult', () => {
  it('reads the 0.1.0/0.2.0 ip4/ip6 shape', () => {
    const legacy = {
      cniVersion: '0.2.0',
      ip4: { ip: '10.1.2.3/24', gateway: '10.1.2.1', routes: [{ dst: '0.0.0.0/0' }] },
      ip6: { ip: 'fd00::3/64', routes: [{ dst: '::/0', gw: 'fd00::1' }] },
      dns: { nameservers: ['1.1.1.1'] },
    };
    expect(parseResult(legacy)).toEqual({
      cniVersion: '1.1.0',
      ips: [{ address: '10.1.2.3/24', gateway: '10.1.2.1' }, { address: 'fd00::3/64' }],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00::1' }],
      dns: { nameservers: ['1.1.1.1'] },
    });
    // Without a cniVersion the shape decides; a caller-given 0.1.0 works as well.
    const { cniVersion: _, ...bare } = legacy;
    expect(parseResult(bare).ips).toHaveLength(2);
    expect(parseResult(bare, '0.1.0').ips).toHaveLength(2);
  });

  it("prefers the result's own cniVersion to the caller's", () => {
    const r = { cniVersion: '0.3.1', ips: [{ version: '4', address: '10.0.0.2/24' }] };
    expect(parseResult(r, '1.1.0')).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24' }] });
  });

  it('accepts an empty result (DEL with an empty prevResult)', () => {
    expect(parseResult({})).toEqual({ cniVersion: '1.1.0' });
    expect(parseResult(Buffer.from('{"cniVersion":"1.0.0","ips":null}'))).toEqual({ cniVersion: '1.1.0' });
  });

  const bad: Array<[string, unknown, string]> = [
    ['not an object', [1], 'prevResult must be an object'],
    ['cniVersion not a string', { cniVersion: 1 }, 'prevResult.cniVersion must be a string'],
    ['ips not an array', { ips: {} }, 'prevResult.ips must be an array'],
    ['address missing', { ips: [{}] }, 'prevResult.ips[0].address must be a string, got nothing'],
    ['address not CIDR', { ips: [{ address: '10.0.0.1' }] }, 'prevResult.ips[0].address must be an IPv4/6 address with prefix'],
    ['prefix too long', { ips: [{ address: '10.0.0.1/33' }] }, 'prevResult.ips[0].address'],
    [
      'prefix with a leading zero',
      { ips: [{ address: '10.0.0.5/024' }] },
      'prevResult.ips[0].address must be an IPv4/6 address with prefix length (CIDR), got "10.0.0.5/024"',
    ],
    ['route dst prefix with a leading zero', { routes: [{ dst: '10.0.0.0/08' }] }, 'prevResult.routes[0].dst must be an IPv4/6'],
    ['IPv4 with a leading zero', { ips: [{ address: '10.0.0.05/24' }] }, 'prevResult.ips[0].address'],
    ['gateway not an IP', { ips: [{ address: '10.0.0.2/24', gateway: 'x' }] }, 'prevResult.ips[0].gateway must be an IP address'],
    ['version disagrees', { cniVersion: '0.4.0', ips: [{ version: '6', address: '10.0.0.2/24' }] }, 'prevResult.ips[0].version must be "4"'],
    [
      'interface index out of range',
      { interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.0.2/24', interface: 1 }] },
      'prevResult.ips[0].interface must be an integer from 0 to 0',
    ],
    ['interface index without interfaces', { interfaces: [], ips: [{ address: '10.0.0.2/24', interface: 0 }] }, 'prevResult.ips[0].interface'],
    ['interface without name', { interfaces: [{ mac: 'x' }] }, 'prevResult.interfaces[0].name must be a string'],
    ['mtu not integer', { interfaces: [{ name: 'a', mtu: '1500' }] }, 'prevResult.interfaces[0].mtu must be an integer'],
    ['route dst missing', { routes: [{ gw: '10.0.0.1' }] }, 'prevResult.routes[0].dst must be a string'],
    ['route scope out of range', { routes: [{ dst: '0.0.0.0/0', scope: 256 }] }, 'prevResult.routes[0].scope'],
    ['dns nameservers not strings', { dns: { nameservers: [1] } }, 'prevResult.dns.nameservers[0] must be a string'],
    ['legacy ip4 with a v6 address', { cniVersion: '0.2.0', ip4: { ip: 'fd00::1/64' } }, 'prevResult.ip4.ip must be an IPv4'],
  ];
  for (const [what, value, message] of bad) {
    it(`rejects ${what} (code 7, naming the field)`, () => {
      const e = errorOf(() => parseResult(value));
      expect(e.code).toBe(7);
      expect(e.msg).toContain(message);
    });
  }

  it('rejects undecodable JSON (6) and unknown versions (1)', () => {
    expect(codeOf(() => parseResult('{nope'))).toBe(6);
    const e = errorOf(() => parseResult({ cniVersion: '0.5.0' }));
    expect(e.code).toBe(1);
    expect(e.msg).toContain('"0.5.0"');
  });

  it('names and codes as the caller asks', () => {
    const e = errorOf(() => parseResult({ ips: 3 }, '1.0.0', { label: 'result of host-local', code: 6 }));
    expect(e.code).toBe(6);
    expect(e.msg).toBe('result of host-local.ips must be an array, got 3');
  });
});
