import { describe, expect, it } from 'vitest';
import { sysctlPath } from './sysctl.js';

describe('sysctlPath', () => {
  it('turns dots into slashes', () => {
    expect(sysctlPath('net.ipv4.ip_forward')).toBe('/proc/sys/net/ipv4/ip_forward');
  });
  it('keeps a slash-form key as-is, so interface names may contain dots', () => {
    expect(sysctlPath('net/ipv4/conf/eth0.100/forwarding')).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  });
  it('takes segments verbatim', () => {
    expect(sysctlPath(['net', 'ipv6', 'conf', 'vlan.7', 'accept_ra'])).toBe('/proc/sys/net/ipv6/conf/vlan.7/accept_ra');
  });
  it('refuses empty and escaping segments', () => {
    expect(() => sysctlPath('net..ipv4')).toThrow(/invalid sysctl key/);
    expect(() => sysctlPath(['net', '..', 'x'])).toThrow(/invalid sysctl key/);
    expect(() => sysctlPath(['net', 'a/b'])).toThrow(/invalid sysctl key/);
    expect(() => sysctlPath([])).toThrow(/invalid sysctl key/);
  });
});
