import { describe, expect, it } from 'vitest';
import { fixture, expectSameAsIproute2 } from './testing/golden.js';
import { NLM_F_ACK, NLM_F_REQUEST } from './constants.js';
import { decodeMessages, encodeMessage } from './message.js';
import { decodeRoute, routeAdd, routeDel, routeDump, routeReplace, routeWhat } from './route.js';

describe('route requests', () => {
  it('gateway, protocol, metric, mtu and advmss', () => {
    expectSameAsIproute2(
      routeAdd({ dst: '10.9.0.0', dstLen: 24, gateway: '10.1.3.1', oif: 3, protocol: 99, priority: 100, mtu: 1400, advmss: 1360 }),
      'req-route-add',
    );
  });
  it('onlink', () => {
    expectSameAsIproute2(routeAdd({ dst: '10.10.0.0', dstLen: 24, gateway: '192.168.0.1', oif: 3, onlink: true, protocol: 99 }), 'req-route-add-onlink');
  });
  it('delete matches any scope and type', () => {
    expectSameAsIproute2(routeDel({ dst: '10.9.0.0', dstLen: 24, gateway: '10.1.3.1', oif: 3, protocol: 99 }), 'req-route-del');
  });
  it('link-scope route without gateway, as the request in err-route-prefix', () => {
    const want = fixture('err-route-prefix').subarray(20, 20 + 44); // the echoed request
    const req = routeAdd({ dst: '10.5.0.1', dstLen: 24, oif: 3 });
    expect(encodeMessage({ ...req, flags: req.flags | NLM_F_REQUEST | NLM_F_ACK }, want.readUInt32LE(8)).toString('hex')).toBe(want.toString('hex'));
  });
  it('replace, tables above 255, IPv6, and error text', () => {
    const r = routeReplace({ dst: '::', dstLen: 0, gateway: 'fd00::1', table: 1000 });
    expect(r.flags).toBe(0x500); // CREATE | REPLACE
    const body = Buffer.from(r.body);
    expect(body.readUInt8(4)).toBe(0); // RT_TABLE_UNSPEC in the header…
    expect(body.readUInt32LE(12 + 4)).toBe(1000); // …and RTA_TABLE as the first attribute
    expect(r.what).toBe('route default via fd00::1 table 1000');
    expect(routeWhat({ dst: '10.0.0.0', dstLen: 8, oif: 2, protocol: 99, priority: 5 })).toBe('route 10.0.0.0/8 dev #2 proto 99 metric 5');
    expect(() => routeAdd({ dst: '10.0.0.0', dstLen: 8, gateway: 'fd00::1' })).toThrow('gateway fd00::1 is of the other IP family');
    expect(() => routeAdd({ dst: '10.0.0.0', dstLen: 40 })).toThrow('invalid prefix length 40');
  });
  it('dump requests carry only strict-check filters', () => {
    const d = routeDump({ family: 4, table: 254, protocol: 99 });
    expect([...d.body.subarray(0, 12)]).toEqual([2, 0, 0, 0, 254, 99, 0, 0, 0, 0, 0, 0]);
  });
});

describe('route replies', () => {
  it('decodes a dump datagram', () => {
    const routes = decodeMessages(fixture('msg-route-dump')).map(decodeRoute);
    expect(routes).toHaveLength(3);
    expect(routes[0]).toEqual({
      family: 4,
      dst: '10.1.2.0',
      dstLen: 24,
      protocol: 2,
      table: 254,
      scope: 253,
      type: 1,
      onlink: false,
      oif: 4,
      prefsrc: '10.1.2.3',
    });
    expect(routes[2]).toEqual({
      family: 4,
      dst: '10.10.0.0',
      dstLen: 24,
      gateway: '192.168.0.1',
      oif: 3,
      protocol: 99,
      table: 254,
      scope: 0,
      type: 1,
      onlink: true,
    });
  });
});
