import { describe, expect, it } from 'vitest';
import { NETCONF_KEYS, readBool, readInt, readObject, readString, readStringArray, rejectUnknownKeys } from './config.js';
import { errorOf } from './testing/error-of.js';

const conf = { flag: true, no: 'yes', mtu: 1450, big: 70000, f: 1.5, s: 'abc', arr: ['a', 'b'], bad: ['a', 2], obj: { k: 1 }, nil: null };

describe('config readers', () => {
  it('read present values, defaults and absent keys', () => {
    expect(readBool(conf, 'flag')).toBe(true);
    expect(readBool(conf, 'missing')).toBeUndefined();
    expect(readBool(conf, 'missing', { default: false })).toBe(false);
    expect(readBool(conf, 'nil', { default: true })).toBe(true);
    expect(readInt(conf, 'mtu', { min: 68, max: 65535 })).toBe(1450);
    expect(readString(conf, 's', { oneOf: ['abc', 'def'] })).toBe('abc');
    expect(readString(conf, 'missing', { default: 'podnet0' })).toBe('podnet0');
    expect(readStringArray(conf, 'arr')).toEqual(['a', 'b']);
    expect(readObject(conf, 'obj')).toEqual({ k: 1 });
  });

  it('name the key, the expectation and the value (code 7)', () => {
    const cases: Array<[() => unknown, string]> = [
      [() => readBool(conf, 'no'), 'no must be a boolean, got "yes"'],
      [() => readBool(conf, 'no', { prefix: 'ipam.' }), 'ipam.no must be a boolean, got "yes"'],
      [() => readInt(conf, 'big', { min: 68, max: 65535 }), 'big must be an integer from 68 to 65535, got 70000'],
      [() => readInt(conf, 'f'), 'f must be an integer, got 1.5'],
      [() => readInt(conf, 's', { min: 0 }), 's must be an integer ≥ 0, got "abc"'],
      [() => readString(conf, 'mtu'), 'mtu must be a string, got 1450'],
      [() => readString(conf, 's', { oneOf: ['x', 'y'] }), 's must be one of "x", "y", got "abc"'],
      [() => readString(conf, 's', { pattern: /^\d+$/ }), 's must be a string matching ^\\d+$, got "abc"'],
      [() => readString({ s: '' }, 's', { nonEmpty: true }), 's must be a non-empty string, got ""'],
      [() => readStringArray(conf, 'bad'), 'bad[1] must be a string, got 2'],
      [() => readStringArray(conf, 's'), 's must be an array of strings, got "abc"'],
      [() => readObject(conf, 'arr'), 'arr must be an object, got ["a","b"]'],
      [() => readString(conf, 'missing', { required: true, prefix: 'ipam.' }), 'ipam.missing is required'],
    ];
    for (const [fn, msg] of cases) {
      const e = errorOf(fn);
      expect(e.code).toBe(7);
      expect(e.msg).toBe(msg);
    }
  });

  it('reject unknown keys with code 2, naming key and value', () => {
    const plugin = { cniVersion: '1.0.0', name: 'n', type: 'podnet-bridge', bridge: 'br0', 'cni.dev/valid-attachments': [] };
    expect(() => rejectUnknownKeys(plugin, [...NETCONF_KEYS, 'bridge'])).not.toThrow();
    const e = errorOf(() => rejectUnknownKeys({ ...plugin, brige: 'x', hairpin: true }, [...NETCONF_KEYS, 'bridge']));
    expect(e.code).toBe(2);
    expect(e.msg).toBe('unsupported fields brige: "x", hairpin: true');
    expect(e.details).toContain('bridge');
    const nested = errorOf(() => rejectUnknownKeys({ type: 'podnet-ipam', subnet: 'x' }, ['type', 'ranges'], 'ipam.'));
    expect(nested.msg).toBe('unsupported field ipam.subnet: "x"');
    expect(nested.details).toBe('supported fields of ipam: type, ranges');
  });
});
