// Delegation to the real reference IPAM: Debian's containernetworking-plugins host-local in
// /usr/lib/cni, driven through the skel exactly as a plugin with an external ipam.type would.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delegateAdd, delegateCheck, delegateDel } from './delegate.js';
import type { Plugin } from './plugin.js';
import { runPlugin } from './skel.js';

const CNI_DIR = '/usr/lib/cni';
const HOST_LOCAL = join(CNI_DIR, 'host-local');

// A plugin whose only work is its IPAM delegate.
const ipamOnly: Plugin = {
  add: (a) => delegateAdd(String(a.config.ipam?.type), a),
  del: (a) => delegateDel(String(a.config.ipam?.type), a),
  check: (a) => delegateCheck(String(a.config.ipam?.type), a),
};

let dataDir = '';
beforeAll(() => {
  // A missing prerequisite fails loudly: install Debian's containernetworking-plugins.
  if (!existsSync(HOST_LOCAL)) throw new Error(`${HOST_LOCAL} missing: apt-get install containernetworking-plugins`);
  dataDir = mkdtempSync(join(tmpdir(), 'pnt-cni-'));
});
afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function call(command: string, containerId: string, config: Record<string, unknown>) {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(ipamOnly, {
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_NETNS: '/run/netns/pnt-cni-unused',
      CNI_IFNAME: 'eth0',
      CNI_PATH: `/nonexistent-pnt-cni:${CNI_DIR}`,
    },
    stdin: JSON.stringify(config),
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  return { code, stdout, stderr, json: stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined };
}

describe('delegating to host-local', () => {
  for (const [cniVersion, subnet] of [
    ['1.0.0', '10.250.1.0/29'],
    ['0.4.0', '10.250.2.0/29'],
  ] as const) {
    it(`ADD returns an IP, CHECK passes, DEL releases it (cniVersion ${cniVersion})`, async () => {
      const name = `pnt-cni-net-${cniVersion.replaceAll('.', '')}`;
      const config = { cniVersion, name, type: 'podnet-test', ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir } };
      const stateDir = join(dataDir, name);

      const add = await call('ADD', 'pnt-cni-c1', config);
      expect(add.stderr).toBe('');
      expect(add.code).toBe(0);
      const base = subnet.slice(0, subnet.lastIndexOf('.'));
      expect(add.json).toEqual({
        cniVersion,
        ips: [{ ...(cniVersion === '0.4.0' ? { version: '4' } : {}), address: `${base}.2/29`, gateway: `${base}.1` }],
        dns: {},
      });
      expect(readFileSync(join(stateDir, `${base}.2`), 'utf8')).toBe('pnt-cni-c1\r\neth0');

      const check = await call('CHECK', 'pnt-cni-c1', { ...config, prevResult: add.json });
      expect(check).toMatchObject({ code: 0, stdout: '' });

      const del = await call('DEL', 'pnt-cni-c1', { ...config, prevResult: add.json });
      expect(del).toMatchObject({ code: 0, stdout: '' });
      expect(existsSync(join(stateDir, `${base}.2`))).toBe(false);
      expect(readdirSync(stateDir).filter((f) => f.startsWith(base))).toEqual([]);
      // DEL again: still fine (idempotent on both sides).
      expect((await call('DEL', 'pnt-cni-c1', config)).code).toBe(0);
    });
  }

  it("passes host-local's error through, prefixed with its name", async () => {
    const config = {
      cniVersion: '1.0.0',
      name: 'pnt-cni-bad',
      type: 'podnet-test',
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.3.0/31' }]], dataDir },
    };
    const r = await call('ADD', 'pnt-cni-c2', config);
    expect(r.code).toBe(1);
    expect(typeof r.json?.code).toBe('number');
    expect(String(r.json?.msg)).toMatch(/^host-local: /);
    expect(String(r.json?.msg)).toContain('10.250.3.0/31');
    expect(r.stderr).toContain('host-local: ');
  });

  it('a missing delegate names the searched dirs', async () => {
    const config = { cniVersion: '1.0.0', name: 'pnt-cni-x', type: 'podnet-test', ipam: { type: 'pnt-cni-no-such-ipam' } };
    const r = await call('ADD', 'pnt-cni-c3', config);
    expect(r.json).toMatchObject({ code: 7, msg: 'plugin "pnt-cni-no-such-ipam" not found in CNI_PATH' });
    expect(String(r.json?.details)).toContain(`/nonexistent-pnt-cni, ${CNI_DIR}`);
  });
});
