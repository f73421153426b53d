import { describe, expect, it } from 'vitest';
import { CniError } from '@podnet/core/cni';
import { parsePortMappings } from './mapping.js';
import { checkConditions, DEFAULT_PROFILE } from './profile.js';
import { parsePortmapConfig } from './config.js';
import { networkCidr, planHostPorts } from './plan.js';
import { attachmentPart, ownerComment, parseComment } from './owner.js';
import { assertFree, fastLines, parseTable } from './table.js';

function codeOf(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof CniError) return { code: err.code, msg: `${err.msg}: ${err.details}` };
    throw err;
  }
  throw new Error('expected a CniError');
}

describe('parsePortMappings', () => {
  it('reads podman and containerd casings, lowercases the protocol, defaults tcp', () => {
    expect(
      parsePortMappings([
        { hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' },
        { HostPort: 53, ContainerPort: 5353, Protocol: 'UDP', HostIP: '' },
        { hostPort: 9000, containerPort: 9000, hostIP: '::' },
        { hostPort: 9001, containerPort: 9001, protocol: 'sctp', hostIP: 'FD00::0001' },
      ]),
    ).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp', host: { kind: 'address', address: '127.0.0.1', family: 4 } },
      { hostPort: 53, containerPort: 5353, protocol: 'udp', host: { kind: 'any' } },
      { hostPort: 9000, containerPort: 9000, protocol: 'tcp', host: { kind: 'family', family: 6 } },
      { hostPort: 9001, containerPort: 9001, protocol: 'sctp', host: { kind: 'address', address: 'fd00::1', family: 6 } },
    ]);
    expect(parsePortMappings(undefined)).toEqual([]);
  });

  it.each([
    [[{ hostPort: 0, containerPort: 80 }], 'runtimeConfig.portMappings[0].hostPort'],
    [[{ hostPort: 80, containerPort: 65536 }], 'runtimeConfig.portMappings[0].containerPort'],
    [
      [
        { hostPort: 80, containerPort: 80 },
        { hostPort: 81, containerPort: 80, protocol: 'icmp' },
      ],
      'runtimeConfig.portMappings[1].protocol',
    ],
    [[{ hostPort: 80, containerPort: 80, hostIP: 'node-1' }], 'runtimeConfig.portMappings[0].hostIP'],
    [[{ hostPort: 80, containerPort: 80, hostIP: '::1' }], 'IPv6 has no route_localnet'],
    [[{ hostPort: 80, containerPort: 80, hostIP: '127.0.0.2' }], 'only 127.0.0.1'],
    [[{ hostPort: 80.5, containerPort: 80 }], 'hostPort'],
    [{ hostPort: 80 }, 'an array'],
  ])('code 7 naming the entry: %j', (value, text) => {
    const e = codeOf(() => parsePortMappings(value));
    expect(e.code).toBe(7);
    expect(e.msg).toContain(text);
  });

  it('collapses exact duplicates and refuses two targets for one host port', () => {
    expect(
      parsePortMappings([
        { hostPort: 80, containerPort: 8080 },
        { hostPort: 80, containerPort: 8080 },
      ]),
    ).toHaveLength(1);
    const e = codeOf(() =>
      parsePortMappings([
        { hostPort: 80, containerPort: 8080 },
        { hostPort: 80, containerPort: 9090, hostIP: '0.0.0.0' },
      ]),
    );
    expect(e.msg).toMatch(/\[1\].*claims the host port of runtimeConfig.portMappings\[0\]/);
    // Same port, other protocol or other host address: fine.
    expect(
      parsePortMappings([
        { hostPort: 80, containerPort: 1 },
        { hostPort: 80, containerPort: 2, protocol: 'udp' },
        { hostPort: 80, containerPort: 3, hostIP: '10.0.0.1' },
      ]),
    ).toHaveLength(3);
  });
});

describe('podnet-portmap config', () => {
  const base = { cniVersion: '1.0.0', name: 'n', type: 'podnet-portmap' };
  it('takes the reference keys with their defaults', () => {
    expect(parsePortmapConfig({ ...base }).profile).toEqual(DEFAULT_PROFILE);
    expect(
      parsePortmapConfig({ ...base, snat: false, markMasqBit: 20, masqAll: true, conditionsV4: ['iifname != "lo"'], backend: 'nftables' }).profile,
    ).toEqual({
      snat: false,
      masqAll: true,
      markBit: 20,
      conditionsV4: ['iifname != "lo"'],
      conditionsV6: [],
    });
  });
  it('refuses the iptables-only keys with code 2 saying why', () => {
    expect(codeOf(() => parsePortmapConfig({ ...base, externalSetMarkChain: 'KUBE-MARK-MASQ' }))).toMatchObject({
      code: 2,
      msg: expect.stringContaining('nftables only'),
    });
    expect(codeOf(() => parsePortmapConfig({ ...base, backend: 'iptables' }))).toMatchObject({ code: 2 });
    expect(codeOf(() => parsePortmapConfig({ ...base, conditionsV4: ['-s', '1.2.3.4'] }))).toMatchObject({
      code: 2,
      msg: expect.stringContaining('iptables syntax'),
    });
    expect(codeOf(() => parsePortmapConfig({ ...base, markMasqBit: 32 })).code).toBe(7);
    expect(codeOf(() => parsePortmapConfig({ ...base, bogus: 1 })).code).toBe(2);
  });
  it('never lets a condition end the rule (no script injection)', () => {
    expect(() => checkConditions('conditionsV4', ['ip saddr 1.2.3.4; flush ruleset'])).toThrow(/conditionsV4\[0\]/);
    expect(() => checkConditions('conditionsV4', ['ip saddr 1.2.3.4\nflush ruleset'])).toThrow();
    expect(() => checkConditions('conditionsV4', ['meta comment "x'])).toThrow();
  });
});

describe('planHostPorts', () => {
  const owner = { network: 'net-a', containerId: 'c0ffee', ifname: 'eth0' };
  it('one claim and one DNAT element per mapping and family of the pod', () => {
    const plan = planHostPorts({
      owner,
      mappings: parsePortMappings([
        { hostPort: 8080, containerPort: 80 },
        { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '192.168.1.5' },
        { hostPort: 9000, containerPort: 90, hostIP: 'fd00::5' },
      ]),
      podAddresses: ['10.9.0.7/24'],
      profile: DEFAULT_PROFILE,
    });
    const p = plan.profileName;
    const owners = plan.elements.filter((e) => e.set.startsWith('owners'));
    expect(owners.map((e) => e.key)).toEqual([
      expect.stringMatching(/^0\.0\.0\.0 \. tcp \. 8080 \. \d+ \. \d+$/),
      expect.stringMatching(/^192\.168\.1\.5 \. udp \. 5353 \. \d+ \. \d+$/),
    ]);
    expect(plan.elements.filter((e) => !e.set.startsWith('owners'))).toEqual([
      { set: 'claims4', key: '0.0.0.0 . tcp . 8080', comment: 'net-a|c0ffee/eth0' },
      { set: 'claims4', key: '192.168.1.5 . udp . 5353', comment: 'net-a|c0ffee/eth0' },
      { set: `${p}_any4`, key: 'tcp . 8080', value: '10.9.0.7 . 80', comment: 'net-a|c0ffee/eth0' },
      { set: `${p}_ip4`, key: '192.168.1.5 . udp . 5353', value: '10.9.0.7 . 53', comment: 'net-a|c0ffee/eth0' },
    ]);
    expect(plan.skipped).toHaveLength(1);
    expect(plan.hairpin4).toEqual(['10.9.0.0/24']);
    expect(plan.udpPorts).toEqual([5353]);
    expect(fastLines(plan)[0]).toMatch(/^add element inet podnet_hostports hp_[0-9a-f]{16} \{ 0 \}$/);
  });

  it('names the holder of a taken claim', () => {
    const mine = planHostPorts({
      owner,
      mappings: parsePortMappings([{ hostPort: 8080, containerPort: 80 }]),
      podAddresses: ['10.9.0.7/24'],
      profile: DEFAULT_PROFILE,
    });
    const state = parseTable({
      nftables: [{ set: { name: 'claims4', elem: [{ elem: { val: { concat: ['0.0.0.0', 'tcp', 8080] }, comment: 'net-b|beef/eth0' } }] } }],
    });
    expect(codeOf(() => assertFree(mine, state))).toMatchObject({
      code: 7,
      msg: expect.stringContaining('tcp/8080 on every IPv4 address is already taken by container beef, ifname eth0 (network "net-b")'),
    });
    // The same attachment under another network name (a rename) is not a conflict.
    const renamed = parseTable({
      nftables: [{ set: { name: 'claims4', elem: [{ elem: { val: { concat: ['0.0.0.0', 'tcp', 8080] }, comment: 'old-name|c0ffee/eth0' } }] } }],
    });
    expect(() => assertFree(mine, renamed)).not.toThrow();
  });

  it('subnets and owner comments', () => {
    expect(networkCidr({ address: '10.1.2.3', prefixLength: 20, family: 4 })).toBe('10.1.0.0/20');
    expect(networkCidr({ address: 'fd00:1:2:3::9', prefixLength: 56, family: 6 })).toBe('fd00:1:2::/56');
    const long = ownerComment({ network: 'n'.repeat(60), containerId: 'x'.repeat(200), ifname: 'eth0' });
    expect(long.length).toBeLessThanOrEqual(127);
    expect(parseComment(long)?.attachment).toBe(attachmentPart({ containerId: 'x'.repeat(200), ifname: 'eth0' }));
    expect(ownerComment({ network: 'bad"name', containerId: 'c', ifname: 'eth0' })).toMatch(/^#[0-9a-f]{16}\|c\/eth0$/);
  });
});

describe('profile rules', () => {
  it('snat marks hairpin and 127/8 sources only; masqAll marks every source; no snat, no mark and no postrouting chain', async () => {
    const { profileRules } = await import('./table.js');
    const rules = (p: Partial<typeof DEFAULT_PROFILE>) => profileRules('p1', { ...DEFAULT_PROFILE, ...p });
    const def = rules({});
    expect(def.get('p1_dnat')![0]).toBe('meta nfproto ipv4 ip saddr @hairpin4 ip daddr . meta l4proto . th dport @p1_ip4 meta mark set meta mark | 0x00002000');
    expect(def.get('p1_post')).toEqual(['meta mark & 0x00002000 == 0x00002000 masquerade']);
    expect(def.get('p1_pre')).toEqual(['fib daddr type local jump p1_dnat']);
    const all = rules({ masqAll: true, markBit: 20 });
    expect(all.get('p1_dnat')![0]).toBe('meta nfproto ipv4 ip daddr . meta l4proto . th dport @p1_ip4 meta mark set meta mark | 0x00100000');
    const none = rules({ snat: false, conditionsV4: ['iifname != "lo"'] });
    expect(none.has('p1_post')).toBe(false);
    expect(none.get('p1_dnat')).toEqual([
      'meta nfproto ipv4 iifname != "lo" dnat ip to ip daddr . meta l4proto . th dport map @p1_ip4',
      'meta nfproto ipv4 iifname != "lo" dnat ip to meta l4proto . th dport map @p1_any4',
      'meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @p1_ip6',
      'meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @p1_any6',
    ]);
  });
});
