// Kernel error replies (NLMSG_ERROR) decoded into NetlinkError text, from captured bytes.
import { describe, expect, it } from 'vitest';
import { fixture } from './testing/golden.js';
import { decodeDone, decodeError } from './ack.js';
import { NLMSG_DONE, NLMSG_ERROR, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE } from './constants.js';
import { NetlinkBatchError, NetlinkError } from './error.js';
import { Attrs, BodyWriter, decodeMessages } from './message.js';

describe('NLMSG_ERROR', () => {
  it('reads the extended ack message after an uncapped echo', () => {
    const [m] = decodeMessages(fixture('err-route-prefix'));
    expect(m?.type).toBe(NLMSG_ERROR);
    const ack = decodeError(m!);
    expect(ack).toMatchObject({ errno: 22, message: 'Invalid prefix for given prefix length' });
    const err = NetlinkError.from(ack, { type: RTM_NEWROUTE, what: 'route 10.5.0.1/24 dev #3' });
    expect(err.message).toBe('RTM_NEWROUTE route 10.5.0.1/24 dev #3: EINVAL (Invalid argument): Invalid prefix for given prefix length');
    expect(err).toMatchObject({ code: 'EINVAL', errno: 22, op: 'RTM_NEWROUTE', kernelMessage: 'Invalid prefix for given prefix length' });
  });

  it('names the object for EEXIST', () => {
    const ack = decodeError(decodeMessages(fixture('err-vxlan-vni-exists'))[0]!);
    expect(ack).toMatchObject({ errno: 17, message: 'A VXLAN device with the specified VNI already exists' });
    expect(NetlinkError.from(ack, { type: RTM_NEWLINK, what: 'vxlan "pnt-k-x2" (vni 42)' }).message).toBe(
      'RTM_NEWLINK vxlan "pnt-k-x2" (vni 42): EEXIST (File exists): A VXLAN device with the specified VNI already exists',
    );
    const addr = decodeError(decodeMessages(fixture('err-addr-exists'))[0]!);
    expect(addr).toMatchObject({ errno: 17, message: 'ipv4: Address already assigned' });
    expect(NetlinkError.from(addr, { type: RTM_NEWADDR, what: 'address 10.1.2.3/24 on link #4' }).code).toBe('EEXIST');
  });

  it('reads an error without extended ack', () => {
    const ack = decodeError(decodeMessages(fixture('err-bridge-eopnotsupp'))[0]!);
    expect(ack).toEqual({ errno: 95 });
    expect(NetlinkError.from(ack, { type: RTM_NEWLINK, what: 'bridge "b"' }).message).toBe('RTM_NEWLINK bridge "b": EOPNOTSUPP (Operation not supported)');
  });

  it('reads a capped ack and a dump DONE', () => {
    // A success ack as the kernel sends it (NLM_F_CAPPED: only the request header is echoed).
    const ack = Buffer.from('24000000020000016cdb076b5431000000000000' + '20000000100005006cdb076b00000000', 'hex');
    expect(decodeError(decodeMessages(ack)[0]!)).toEqual({ errno: 0 });
    const done = decodeMessages(fixture('msg-addr-dump')).find((m) => m.type === NLMSG_DONE);
    expect(decodeDone(done!)).toEqual({ errno: 0 });
  });
});

describe('NetlinkBatchError', () => {
  it('reports which request failed, keeping the first error code', () => {
    const e = new NetlinkError(17, 'route default via 10.0.0.1', RTM_NEWROUTE);
    const b = new NetlinkBatchError([undefined, e, new NetlinkError(19, 'address 1.2.3.4/32 on link #9', RTM_NEWADDR)], e, 1);
    expect(b.message).toBe('batch request 2 of 3 failed (and 1 more): RTM_NEWROUTE route default via 10.0.0.1: EEXIST (File exists)');
    expect(b.code).toBe('EEXIST');
    expect(b).toBeInstanceOf(NetlinkError);
  });
});

describe('attributes', () => {
  it('pads, nests and reads back', () => {
    const body = new BodyWriter()
      .raw(Uint8Array.of(1, 2, 3, 4))
      .str(3, 'eth0')
      .nest(18, (w) => w.chars(1, 'veth').u8(7, 1).u16be(15, 4789), true)
      .u32(4, 1500)
      .finish();
    expect(body.length % 4).toBe(0);
    const a = new Attrs(body, 4);
    expect(a.str(3)).toBe('eth0');
    expect(a.u32(4)).toBe(1500);
    const n = a.nested(18)!;
    expect(n.str(1)).toBe('veth');
    expect(n.u8(7)).toBe(1);
    expect(n.u16be(15)).toBe(4789);
    expect(body.readUInt16LE(4 + 12 + 2)).toBe(18 | 0x8000); // NLA_F_NESTED kept on the wire, masked when read
  });

  it('refuses a truncated message', () => {
    expect(() => decodeMessages(Buffer.from('ff00000002000000000000000000000000000000', 'hex'))).toThrow(/malformed netlink message/);
  });
});
