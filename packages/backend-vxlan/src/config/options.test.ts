import { describe, expect, it } from 'vitest';
import { encapsulation, overlayMtu, parseVxlanOptions } from './options.js';

describe('parseVxlanOptions', () => {
  it("defaults to flannel's: VNI 1, port 8472, learning, GBP and DirectRouting off, MTU from the underlay", () => {
    expect(parseVxlanOptions({ Type: 'vxlan' })).toEqual({ vni: 1, port: 8472, directRouting: false, gbp: false, learning: false });
    expect(parseVxlanOptions(undefined)).toEqual({ vni: 1, port: 8472, directRouting: false, gbp: false, learning: false });
  });

  it('takes every option, Port 0 meaning the default', () => {
    expect(parseVxlanOptions({ Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 1400, DirectRouting: true, GBP: true, Learning: true })).toEqual({
      vni: 4096,
      port: 4789,
      mtu: 1400,
      directRouting: true,
      gbp: true,
      learning: true,
    });
    expect(parseVxlanOptions({ Port: 0, VNI: 0 })).toMatchObject({ port: 8472, vni: 0 });
  });

  it('refuses bad values and unknown keys, naming the field', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ VNI: 16777216 }, /"Backend\.VNI" must be an integer from 0 to 16777215, got 16777216/],
      [{ VNI: '1' }, /"Backend\.VNI"/],
      [{ Port: 70000 }, /"Backend\.Port" must be an integer from 0 to 65535/],
      [{ MTU: 60 }, /"Backend\.MTU" must be an integer from 68/],
      [{ DirectRouting: 'yes' }, /"Backend\.DirectRouting" must be true or false, got "yes"/],
      [{ GBP: 1 }, /"Backend\.GBP"/],
      [{ Vni: 2 }, /"Backend\.Vni" is not a vxlan option \(known: VNI, Port, MTU, DirectRouting, GBP, Learning\)/],
      [{ Type: 'host-gw' }, /"Backend\.Type" is "host-gw"/],
    ];
    for (const [b, re] of bad) expect(() => parseVxlanOptions(b)).toThrow(re);
  });
});

describe('MTU', () => {
  it('subtracts 50 bytes over an IPv4 underlay and 70 over IPv6', () => {
    expect(encapsulation(4)).toBe(50);
    expect(encapsulation(6)).toBe(70);
    expect(overlayMtu(1500, 4, {})).toBe(1450);
    expect(overlayMtu(1500, 6, {})).toBe(1430);
    expect(overlayMtu(9000, 4, {})).toBe(8950);
  });

  it('uses Backend.MTU when the underlay carries it, and refuses it otherwise', () => {
    expect(overlayMtu(1500, 4, { mtu: 1400 })).toBe(1400);
    expect(overlayMtu(1500, 4, { mtu: 1450 })).toBe(1450);
    expect(() => overlayMtu(1500, 4, { mtu: 1451 })).toThrow(
      '"Backend.MTU" 1451 does not fit the underlay: MTU 1500 over IPv4 carries at most 1450 (50 bytes of VXLAN encapsulation)',
    );
    expect(() => overlayMtu(1500, 6, { mtu: 1450 })).toThrow(/at most 1430/);
  });
});
