import { describe, expect, it } from 'vitest';
import { IpamError, IpamErrorCode } from './errors.js';
import { DEFAULT_DATA_DIR, managesAddress, parseIpamConfig, parseStoreLocation } from './config.js';
import type { IpamConfigInput } from './config.js';
import { formatIp } from './address.js';

function conf(ipam: Record<string, unknown>, extra: Partial<IpamConfigInput> = {}): IpamConfigInput {
  return { name: 'net', ipam: { type: 'podnet-ipam', ...ipam }, ...extra };
}

function failure(fn: () => unknown): IpamError {
  try {
    fn();
  } catch (err) {
    if (err instanceof IpamError) return err;
    throw err;
  }
  throw new Error('expected an IpamError');
}

function ranges(config: ReturnType<typeof parseIpamConfig>): string[][] {
  return config.rangeSets.map((set) =>
    set.ranges.map((r) => `${formatIp(r.family, r.start)}-${formatIp(r.family, r.end)} gw ${formatIp(r.family, r.gateway)} /${r.prefix}`),
  );
}

describe('parseIpamConfig: ranges and defaults', () => {
  it('fills host-local defaults: start = network+1, end = last (v4 minus broadcast), gateway = network+1', () => {
    const config = parseIpamConfig(conf({ ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '2001:db8:1::/64' }]] }));
    expect(ranges(config)).toEqual([['10.1.2.1-10.1.2.254 gw 10.1.2.1 /24'], ['2001:db8:1::1-2001:db8:1:0:ffff:ffff:ffff:ffff gw 2001:db8:1::1 /64']]);
    expect(config.dataDir).toBe(DEFAULT_DATA_DIR);
    expect(config.path).toBe(`${DEFAULT_DATA_DIR}/net`);
    expect(config.lockTimeoutMs).toBe(10_000);
    expect(config.requested).toEqual([]);
  });

  it('keeps explicit start, end and gateway (trimmed)', () => {
    const config = parseIpamConfig(conf({ ranges: [[{ subnet: ' 10.1.2.0/24 ', rangeStart: '10.1.2.10', rangeEnd: ' 10.1.2.20', gateway: '10.1.2.254' }]] }));
    expect(ranges(config)).toEqual([['10.1.2.10-10.1.2.20 gw 10.1.2.254 /24']]);
  });

  it('puts the legacy top-level range first, then runtimeConfig.ipRanges, then ranges', () => {
    const config = parseIpamConfig(
      conf({ subnet: '10.0.0.0/24', ranges: [[{ subnet: '10.2.0.0/24' }]] }, { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.0/24' }]] } }),
    );
    expect(config.rangeSets.map((s) => s.path)).toEqual(['ipam', 'runtimeConfig.ipRanges[0]', 'ipam.ranges[0]']);
    expect(config.rangeSets.map((s) => s.ranges[0]!.path)).toEqual(['ipam', 'runtimeConfig.ipRanges[0][0]', 'ipam.ranges[0][0]']);
  });

  it('accepts /30 (one address besides the gateway) and v6 /126', () => {
    expect(ranges(parseIpamConfig(conf({ subnet: '10.0.0.0/30' })))).toEqual([['10.0.0.1-10.0.0.2 gw 10.0.0.1 /30']]);
    expect(ranges(parseIpamConfig(conf({ subnet: 'fd00::/126' })))).toEqual([['fd00::1-fd00::3 gw fd00::1 /126']]);
  });

  it('accepts several disjoint ranges of one subnet in one set', () => {
    const config = parseIpamConfig(
      conf({
        ranges: [
          [
            { subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.19' },
            { subnet: '10.0.0.0/24', rangeStart: '10.0.0.20', rangeEnd: '10.0.0.29' },
          ],
        ],
      }),
    );
    expect(config.rangeSets[0]!.ranges).toHaveLength(2);
  });

  it('gives sets a key from their ranges, independent of position', () => {
    const a = parseIpamConfig(conf({ ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.1.0.0/24' }]] }));
    const b = parseIpamConfig(conf({ ranges: [[{ subnet: '10.1.0.0/24' }], [{ subnet: '10.0.0.0/24' }]] }));
    expect(a.rangeSets[0]!.key).toBe(b.rangeSets[1]!.key);
    expect(a.rangeSets[0]!.key).not.toBe(a.rangeSets[1]!.key);
  });
});

describe('parseIpamConfig: validation names the field', () => {
  const cases: Array<[string, Record<string, unknown>, Partial<IpamConfigInput>, string, number]> = [
    ['host bits', { ranges: [[{ subnet: '10.1.2.1/24' }]] }, {}, 'ipam.ranges[0][0].subnet 10.1.2.1/24: host bits set', 7],
    ['v4 /31', { ranges: [[{ subnet: '10.1.2.0/31' }]] }, {}, 'ipam.ranges[0][0].subnet 10.1.2.0/31: too small', 7],
    ['v4 /32', { ranges: [[{ subnet: '10.1.2.0/32' }]] }, {}, 'too small', 7],
    ['v6 /127', { ranges: [[{ subnet: 'fd00::/127' }]] }, {}, 'ipam.ranges[0][0].subnet fd00::/127: too small', 7],
    ['v6 /128', { ranges: [[{ subnet: 'fd00::/128' }]] }, {}, 'too small', 7],
    ['not a cidr', { ranges: [[{ subnet: '10.1.2.0' }]] }, {}, 'ipam.ranges[0][0].subnet "10.1.2.0": not a CIDR', 7],
    ['subnet type', { ranges: [[{ subnet: 24 }]] }, {}, 'invalid ipam.ranges[0][0].subnet', 7],
    ['missing subnet', { ranges: [[{ rangeStart: '10.0.0.2' }]] }, {}, 'missing ipam.ranges[0][0].subnet', 7],
    ['start outside', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.3.5' }]] }, {}, 'ipam.ranges[0][0].rangeStart 10.1.3.5: outside 10.1.2.0/24', 7],
    [
      'end outside',
      { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.2.2.0/24', rangeEnd: '10.2.3.0' }]] },
      {},
      'ipam.ranges[1][0].rangeEnd 10.2.3.0: outside',
      7,
    ],
    ['start is network', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.0' }]] }, {}, 'rangeStart 10.1.2.0: the network address', 7],
    ['end is broadcast', { ranges: [[{ subnet: '10.1.2.0/24', rangeEnd: '10.1.2.255' }]] }, {}, 'rangeEnd 10.1.2.255: the broadcast address', 7],
    ['gateway outside', { ranges: [[{ subnet: '10.1.2.0/24', gateway: '10.9.9.9' }]] }, {}, 'ipam.ranges[0][0].gateway 10.9.9.9: outside', 7],
    [
      'start after end',
      { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.50', rangeEnd: '10.1.2.40' }]] },
      {},
      'ipam.ranges[0][0]: rangeStart 10.1.2.50 is after rangeEnd 10.1.2.40',
      7,
    ],
    ['family of start', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: 'fd00::2' }]] }, {}, 'rangeStart fd00::2: not an IPv4 address', 7],
    ['start type', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: 5 }]] }, {}, 'ipam.ranges[0][0].rangeStart: expected a string', 7],
    [
      'overlap in a set',
      { ranges: [[{ subnet: '10.1.0.0/16' }, { subnet: '10.1.2.0/24' }]] },
      {},
      'ipam.ranges[0][1]: 10.1.2.1-10.1.2.254 overlaps ipam.ranges[0][0]',
      7,
    ],
    ['overlap across sets', { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.2.0/25' }]] }, {}, 'overlaps', 7],
    [
      'overlap of partial ranges',
      {
        ranges: [
          [{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.10', rangeEnd: '10.0.0.20' }],
          [{ subnet: '10.0.0.0/24', rangeStart: '10.0.0.20', rangeEnd: '10.0.0.30' }],
        ],
      },
      {},
      'overlaps',
      7,
    ],
    [
      'overlap legacy vs ranges',
      { subnet: '10.1.2.0/24', ranges: [[{ subnet: '10.1.2.0/24' }]] },
      {},
      'ipam.ranges[0][0]: 10.1.2.1-10.1.2.254 overlaps ipam (10.1.2.1-10.1.2.254)',
      7,
    ],
    [
      'mixed families',
      { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: 'fd00::/64' }]] },
      {},
      'ipam.ranges[0]: mixes IPv4 (ipam.ranges[0][0]) and IPv6 (ipam.ranges[0][1])',
      7,
    ],
    ['empty set', { ranges: [[]] }, {}, 'ipam.ranges[0]: expected a non-empty list of ranges', 7],
    ['ranges not a list', { ranges: { subnet: '10.0.0.0/24' } }, {}, 'invalid ipam.ranges', 7],
    ['no ranges', {}, {}, 'missing ipam.ranges', 7],
    ['unknown ipam key', { subnet: '10.0.0.0/24', subnets: [] }, {}, 'unsupported field ipam.subnets', 2],
    ['unknown range key', { ranges: [[{ subnet: '10.0.0.0/24', start: '10.0.0.5' }]] }, {}, 'unsupported field ipam.ranges[0][0].start', 2],
    [
      'runtime ranges',
      { subnet: '10.0.0.0/24' },
      { runtimeConfig: { ipRanges: [[{ subnet: '10.1.0.1/24' }]] } },
      'runtimeConfig.ipRanges[0][0].subnet 10.1.0.1/24: host bits set',
      7,
    ],
    ['relative dataDir', { subnet: '10.0.0.0/24', dataDir: 'var/lib' }, {}, 'invalid ipam.dataDir "var/lib"', 7],
    ['lock timeout', { subnet: '10.0.0.0/24', lockTimeoutMs: -1 }, {}, 'invalid ipam.lockTimeoutMs -1', 7],
    ['bad name', { subnet: '10.0.0.0/24' }, { name: '../etc' }, 'invalid name "../etc"', 7],
    ['route dst', { subnet: '10.0.0.0/24', routes: [{ dst: '10.0.0.1/8' }] }, {}, 'invalid ipam.routes[0].dst 10.0.0.1/8: host bits set', 7],
    ['route gw family', { subnet: '10.0.0.0/24', routes: [{ dst: '0.0.0.0/0', gw: 'fd00::1' }] }, {}, 'invalid ipam.routes[0].gw "fd00::1"', 7],
    ['route key', { subnet: '10.0.0.0/24', routes: [{ dst: '0.0.0.0/0', via: '10.0.0.1' }] }, {}, 'unsupported field ipam.routes[0].via', 2],
    ['reserved', { subnet: '10.0.0.0/24', reserved: ['10.0.0.5', '10.0.0.17/28'] }, {}, 'invalid ipam.reserved[1] 10.0.0.17/28: host bits set', 7],
    ['missing ipam', {}, { ipam: undefined }, 'missing ipam section', 7],
  ];
  it.each(cases)('%s', (_name, ipam, extra, message, code) => {
    const err = failure(() => parseIpamConfig(conf(ipam, extra)));
    expect(err.message).toContain(message);
    expect(err.code).toBe(code);
    expect(err.details).not.toBe('');
  });
});

describe('parseIpamConfig: requested addresses', () => {
  const two = { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.3.0/24' }], [{ subnet: '2001:db8:1::/64' }]] };

  it('reads CNI_ARGS IP, args.cni.ips and runtimeConfig.ips and matches each to its set', () => {
    const config = parseIpamConfig(conf(two, { args: { cni: { ips: ['2001:db8:1::99/64'] } } }), { IP: ' 10.1.3.7 ', K8S_POD_NAME: 'x' });
    expect(config.requested.map((r) => [r.set, formatIp(r.family, r.value), r.source])).toEqual([
      [0, '10.1.3.7', 'CNI_ARGS IP[0]'],
      [1, '2001:db8:1::99', 'args.cni.ips[0]'],
    ]);
    const runtime = parseIpamConfig(conf(two, { runtimeConfig: { ips: ['10.1.2.9/24', '2001:db8:1::9'] } }));
    expect(runtime.requested.map((r) => r.source)).toEqual(['runtimeConfig.ips[0]', 'runtimeConfig.ips[1]']);
    const both = parseIpamConfig(conf(two), { IP: '10.1.2.9,2001:db8:1::9' });
    expect(both.requested).toHaveLength(2);
  });

  it('accepts the same address from two sources', () => {
    const config = parseIpamConfig(conf(two, { runtimeConfig: { ips: ['10.1.2.9'] } }), { IP: '10.1.2.9' });
    expect(config.requested).toHaveLength(1);
  });

  it.each([
    [{ IP: '10.9.9.9' }, {}, 'requested address CNI_ARGS IP[0] 10.9.9.9 is outside every range'],
    [{ IP: '10.1.2.1' }, {}, 'requested address CNI_ARGS IP[0] 10.1.2.1 is a gateway'],
    [{ IP: '10.1.2.255' }, {}, 'is outside every range'],
    [{ IP: 'nope' }, {}, 'invalid requested address CNI_ARGS IP[0] "nope"'],
    [{ IP: '10.1.2.5/16' }, {}, 'has prefix /16'],
    [{ IP: '10.1.2.5,10.1.3.5' }, {}, 'requested addresses CNI_ARGS IP[0] and CNI_ARGS IP[1] are both in ipam.ranges[0]'],
    [{}, { runtimeConfig: { ips: '10.1.2.5' } }, 'invalid runtimeConfig.ips: expected a list'],
    [{}, { args: { cni: { ips: [5] } } }, 'invalid args.cni.ips[0] 5'],
  ] as const)('refuses %j %j', (cniArgs, extra, message) => {
    const err = failure(() => parseIpamConfig(conf(two, extra), cniArgs));
    expect(err.message).toContain(message);
    expect(err.code).toBe(IpamErrorCode.InvalidConfig);
  });

  it('refuses a reserved address', () => {
    const err = failure(() => parseIpamConfig(conf({ ...two, reserved: ['10.1.2.0/28'] }), { IP: '10.1.2.5' }));
    expect(err.message).toContain('is reserved (ipam.reserved)');
  });
});

describe('parseStoreLocation', () => {
  it('reads only name, dataDir and lockTimeoutMs, so DEL works with broken ranges', () => {
    expect(parseStoreLocation({ name: 'n', ipam: { dataDir: '/tmp/x', lockTimeoutMs: 50, ranges: 'broken' } })).toEqual({
      name: 'n',
      dataDir: '/tmp/x',
      path: '/tmp/x/n',
      lockTimeoutMs: 50,
    });
  });
});

describe('managesAddress', () => {
  it('is true for addresses in the subnet of a range, with or without prefix', () => {
    const config = parseIpamConfig(conf({ ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.100' }], [{ subnet: 'fd00::/64' }]] }));
    expect(managesAddress(config, '10.1.2.5/24')).toBe(true);
    expect(managesAddress(config, '10.1.2.5')).toBe(true);
    expect(managesAddress(config, 'fd00::9/64')).toBe(true);
    expect(managesAddress(config, '10.1.3.5/24')).toBe(false);
    expect(managesAddress(config, 'fd01::9')).toBe(false);
    expect(managesAddress(config, 'garbage')).toBe(false);
  });
});
