// What a result must look like in each CNI version (spec §5 and the conversion rules in
// reference/cni-facts.md), checked field by field so a failure names the field.
import { expect } from 'vitest';

export interface WireResult {
  cniVersion: string;
  interfaces?: Array<{ name: string; mac?: string; mtu?: number; sandbox?: string; socketPath?: string; pciID?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number; version?: string }>;
  routes?: Array<{ dst: string; gw?: string }>;
  dns?: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

const CIDR4 = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const CIDR6 = /^[0-9a-f:]+\/\d{1,3}$/i;
const IP4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const IP6 = /^[0-9a-f:]+$/i;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Asserts `json` is a valid ADD result of `version` for an attachment with interfaces. */
export function expectValidResult(json: unknown, version: string): WireResult {
  expect(json, 'ADD printed a JSON object').toBeTypeOf('object');
  const r = json as WireResult;
  expect(r.cniVersion, 'cniVersion is the config version').toBe(version);
  expect(
    Object.keys(r).every((k) => ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'].includes(k)),
    `only spec keys: ${Object.keys(r).join(',')}`,
  ).toBe(true);

  expect(Array.isArray(r.interfaces) && r.interfaces.length > 0, 'interfaces is a non-empty list').toBe(true);
  for (const [i, itf] of r.interfaces!.entries()) {
    expect(itf.name, `interfaces[${i}].name`).toMatch(/^[^/:\s]{1,15}$/);
    if (itf.mac !== undefined) expect(itf.mac, `interfaces[${i}].mac`).toMatch(MAC);
    if (version !== '1.0.0' && version !== '1.1.0') {
      // 0.3.x / 0.4.0 results have no mtu, socketPath or pciID.
      expect(itf.mtu, `interfaces[${i}].mtu absent in ${version}`).toBeUndefined();
      expect(itf.socketPath, `interfaces[${i}].socketPath absent in ${version}`).toBeUndefined();
      expect(itf.pciID, `interfaces[${i}].pciID absent in ${version}`).toBeUndefined();
    }
  }

  expect(Array.isArray(r.ips) && r.ips.length > 0, 'ips is a non-empty list').toBe(true);
  for (const [i, ip] of r.ips!.entries()) {
    const v6 = ip.address.includes(':');
    expect(ip.address, `ips[${i}].address`).toMatch(v6 ? CIDR6 : CIDR4);
    if (ip.gateway !== undefined) expect(ip.gateway, `ips[${i}].gateway`).toMatch(v6 ? IP6 : IP4);
    if (version.startsWith('0.')) expect(ip.version, `ips[${i}].version in ${version}`).toBe(v6 ? '6' : '4');
    else expect(ip.version, `ips[${i}].version absent in ${version}`).toBeUndefined();
    expect(ip.interface, `ips[${i}].interface`).toBeTypeOf('number');
    const itf = r.interfaces![ip.interface!];
    expect(itf?.sandbox, `ips[${i}] points at the container interface`).toBeTruthy();
  }
  for (const [i, route] of (r.routes ?? []).entries()) {
    expect(route.dst, `routes[${i}].dst`).toMatch(/\//);
  }
  return r;
}

/** The container interface of a result (the one with a sandbox), with its addresses. */
export function containerSide(r: WireResult): { name: string; mac: string; sandbox: string; addresses: string[] } {
  const index = r.interfaces!.findIndex((i) => i.sandbox);
  const itf = r.interfaces![index]!;
  return {
    name: itf.name,
    mac: itf.mac!,
    sandbox: itf.sandbox!,
    addresses: r.ips!.filter((ip) => ip.interface === index).map((ip) => ip.address),
  };
}
