import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CniError } from './errors.js';
import type { CmdArgs, GcArgs, Plugin, StatusArgs } from './plugin.js';
import { runPlugin } from './skel.js';
import type { Result } from './types.js';
import { SUPPORTED_VERSIONS } from './version.js';

const result: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:16:00:05', mtu: 1450, sandbox: '/run/netns/pod' }],
  ips: [{ address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 0 }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.22.0.1', priority: 10 }],
};

/** A plugin that records its calls and does what `behave` says. */
function recorder(behave: { add?: () => Promise<Result>; fail?: unknown; knownArgs?: string[]; noGc?: boolean } = {}) {
  const calls: Array<{ cmd: string; args: CmdArgs | GcArgs | StatusArgs }> = [];
  const act = async (cmd: string, args: CmdArgs | GcArgs | StatusArgs) => {
    calls.push({ cmd, args });
    if (behave.fail !== undefined) throw behave.fail;
  };
  const plugin: Plugin = {
    add: async (a) => {
      await act('add', a);
      return behave.add ? behave.add() : result;
    },
    del: (a) => act('del', a),
    check: (a) => act('check', a),
    status: (a) => act('status', a),
    ...(behave.noGc ? {} : { gc: (a: GcArgs) => act('gc', a) }),
    ...(behave.knownArgs ? { knownArgs: behave.knownArgs } : {}),
  };
  return { plugin, calls };
}

const baseEnv = {
  CNI_CONTAINERID: 'ctr-1',
  CNI_NETNS: '/run/netns/pnt-cni-absent',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin::/usr/lib/cni',
};

const conf = (over: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.1.0', name: 'podnet', type: 'podnet-bridge', ...over });

async function call(plugin: Plugin, env: Record<string, string | undefined>, stdin: string | Buffer = conf(), about?: string) {
  let stdout = '';
  let stderr = '';
  const code = await runPlugin(plugin, { env, stdin, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) }, about === undefined ? {} : { about });
  const json = stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
  return { code, stdout, stderr, json };
}

async function expectError(p: Promise<Awaited<ReturnType<typeof call>>>, code: number, ...texts: string[]) {
  const r = await p;
  expect(r.code).toBe(1);
  expect(r.json?.code).toBe(code);
  for (const t of texts) expect(`${r.json?.msg} ${r.json?.details ?? ''}`).toContain(t);
  expect(r.stderr).toContain(`error ${code}`);
  return r;
}

describe('environment', () => {
  it('no CNI_COMMAND → 4', async () => {
    await expectError(call(recorder().plugin, baseEnv), 4, 'CNI_COMMAND');
  });

  it('no CNI_COMMAND with an about text → about on stderr, exit 0', async () => {
    const r = await call(recorder().plugin, {}, '', 'podnet-bridge v0.1.0');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('podnet-bridge v0.1.0');
    expect(r.stderr).toContain('CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0');
  });

  it('unknown command → 4 listing the commands', async () => {
    await expectError(call(recorder().plugin, { ...baseEnv, CNI_COMMAND: 'add' }), 4, 'unknown CNI_COMMAND "add"', 'ADD, DEL, CHECK, GC, STATUS, VERSION');
  });

  const missing: Array<[string, Record<string, string>, string]> = [
    ['ADD', { CNI_COMMAND: 'ADD' }, 'missing environment variables CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH'],
    ['CHECK', { CNI_COMMAND: 'CHECK', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }, 'missing environment variables CNI_CONTAINERID, CNI_NETNS'],
    ['DEL', { CNI_COMMAND: 'DEL', CNI_NETNS: '/x' }, 'missing environment variables CNI_CONTAINERID, CNI_IFNAME, CNI_PATH'],
    ['GC', { CNI_COMMAND: 'GC', CNI_CONTAINERID: 'x' }, 'missing environment variable CNI_PATH'],
    ['ADD with empty values', { ...baseEnv, CNI_COMMAND: 'ADD', CNI_IFNAME: '' }, 'missing environment variable CNI_IFNAME'],
  ];
  for (const [what, env, msg] of missing) {
    it(`${what}: all missing variables in one message → 4`, async () => {
      const { plugin, calls } = recorder();
      const r = await expectError(call(plugin, env), 4, msg);
      expect(r.json?.msg).toBe(msg);
      expect(calls).toHaveLength(0);
    });
  }

  it('DEL without CNI_NETNS is fine; netns is then absent', async () => {
    const { plugin, calls } = recorder();
    const { CNI_NETNS: _, ...env } = baseEnv;
    const r = await call(plugin, { ...env, CNI_COMMAND: 'DEL' });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(calls[0]?.cmd).toBe('del');
    expect('netns' in calls[0]!.args).toBe(false);
  });

  it('GC needs only CNI_COMMAND and CNI_PATH; STATUS only CNI_COMMAND; VERSION only CNI_COMMAND', async () => {
    const { plugin, calls } = recorder();
    const gc = await call(plugin, { CNI_COMMAND: 'GC', CNI_PATH: '/x' }, conf({ 'cni.dev/valid-attachments': [] }));
    expect(gc).toMatchObject({ code: 0, stdout: '' });
    const status = await call(plugin, { CNI_COMMAND: 'STATUS' });
    expect(status).toMatchObject({ code: 0, stdout: '' });
    expect(calls.map((c) => c.cmd)).toEqual(['gc', 'status']);
    expect((calls[1]?.args as StatusArgs).path).toEqual([]);
    const version = await call(plugin, { CNI_COMMAND: 'VERSION' }, '');
    expect(version.code).toBe(0);
  });

  const badIds = ['-abc', '.abc', 'a b', 'a/b', 'a:b', 'ä'];
  for (const id of badIds) {
    it(`CNI_CONTAINERID ${JSON.stringify(id)} → 4`, async () => {
      await expectError(call(recorder().plugin, { ...baseEnv, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id }), 4, 'invalid CNI_CONTAINERID', '^[a-zA-Z0-9]');
    });
  }

  const badIfnames: Array<[string, string]> = [
    ['eth0123456789012', 'at most 15 bytes'],
    ['éééééééé', 'at most 15 bytes'],
    ['.', 'not be "." or ".."'],
    ['..', 'not be "." or ".."'],
    ['a/b', 'must not contain'],
    ['a:b', 'must not contain'],
    ['a b', 'must not contain'],
    ['a\tb', 'must not contain'],
  ];
  for (const [ifname, rule] of badIfnames) {
    it(`CNI_IFNAME ${JSON.stringify(ifname)} → 4 (${rule})`, async () => {
      await expectError(call(recorder().plugin, { ...baseEnv, CNI_COMMAND: 'DEL', CNI_IFNAME: ifname }), 4, 'invalid CNI_IFNAME', rule);
    });
  }

  it('accepts a 15-byte ifname and a container ID with _ . -', async () => {
    const { plugin, calls } = recorder();
    const r = await call(plugin, { ...baseEnv, CNI_COMMAND: 'CHECK', CNI_IFNAME: 'eth012345678901', CNI_CONTAINERID: 'A9_b.c-d' });
    expect(r.code).toBe(0);
    expect(calls[0]?.args).toMatchObject({ ifname: 'eth012345678901', containerId: 'A9_b.c-d' });
  });

  it("CNI_NETNS that is the plugin's own netns → 8, unless CNI_NETNS_OVERRIDE=1", async () => {
    const env = { ...baseEnv, CNI_COMMAND: 'ADD', CNI_NETNS: '/proc/self/ns/net' };
    await expectError(call(recorder().plugin, env), 8, '/proc/self/ns/net', 'CNI_NETNS_OVERRIDE');
    const r = await call(recorder().plugin, { ...env, CNI_NETNS_OVERRIDE: '1' });
    expect(r.code).toBe(0);
  });

  it('passes env, stdin bytes, CNI_PATH and CNI_ARGS to the plugin', async () => {
    const { plugin, calls } = recorder({ knownArgs: ['IP', 'K8S_POD_NAME'] });
    const stdin = Buffer.from(`  ${conf({ extra: { a: 1 } })}\n`);
    const env = { ...baseEnv, CNI_COMMAND: 'ADD', CNI_ARGS: 'IgnoreUnknown=1;IP=10.22.0.9;FOO=bar;K8S_POD_NAME=web' };
    const r = await call(plugin, env, stdin);
    expect(r.code).toBe(0);
    const args = calls[0]!.args as CmdArgs;
    expect(args.stdin.equals(stdin)).toBe(true);
    expect(args.env).toBe(env);
    expect(args.path).toEqual(['/opt/cni/bin', '/usr/lib/cni']);
    expect(args.args).toEqual({ IP: '10.22.0.9', FOO: 'bar', K8S_POD_NAME: 'web' });
    expect(args.netns).toBe('/run/netns/pnt-cni-absent');
    expect(args.config.extra).toEqual({ a: 1 });
    expect(args.log).toBeDefined();
  });

  it('CNI_ARGS: unknown key → 2 naming it, malformed pair → 4', async () => {
    const { plugin } = recorder({ knownArgs: ['IP'] });
    await expectError(call(plugin, { ...baseEnv, CNI_COMMAND: 'ADD', CNI_ARGS: 'IP=1.2.3.4;MAC=x' }), 2, 'MAC=x');
    await expectError(call(plugin, { ...baseEnv, CNI_COMMAND: 'ADD', CNI_ARGS: 'IP' }), 4, 'CNI_ARGS', '"IP"');
  });
});

describe('network config', () => {
  const env = { ...baseEnv, CNI_COMMAND: 'ADD' };
  const cases: Array<[string, string, number, string]> = [
    ['invalid JSON', '{"cniVersion":', 6, 'not valid JSON'],
    ['empty stdin', '', 6, 'no network configuration on stdin'],
    ['a JSON array', '[]', 6, 'must be a JSON object'],
    ['missing cniVersion', JSON.stringify({ name: 'n', type: 't' }), 7, 'missing cniVersion'],
    ['numeric cniVersion', JSON.stringify({ cniVersion: 1, name: 'n', type: 't' }), 7, 'cniVersion must be a non-empty string, got 1'],
    ['missing name', JSON.stringify({ cniVersion: '1.0.0', type: 't' }), 7, 'missing name'],
    ['non-string name', conf({ name: ['x'] }), 7, 'name must be a non-empty string'],
    ['missing type', JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), 7, 'missing type'],
    ['bad name', conf({ name: 'my net' }), 7, 'invalid network name "my net"'],
    ['unsupported version', conf({ cniVersion: '0.2.0' }), 1, 'unsupported cniVersion "0.2.0"'],
    ['future version', conf({ cniVersion: '1.2.0' }), 1, '0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0'],
    ['malformed prevResult', conf({ prevResult: { ips: [{ address: 'nope' }] } }), 7, 'prevResult.ips[0].address'],
  ];
  for (const [what, stdin, code, text] of cases) {
    it(`${what} → ${code}`, async () => {
      const { plugin, calls } = recorder();
      await expectError(call(plugin, env, stdin), code, text);
      expect(calls).toHaveLength(0);
    });
  }

  it('CHECK below 0.4.0 → 1', async () => {
    await expectError(
      call(recorder().plugin, { ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' })),
      1,
      'CHECK needs cniVersion 0.4.0 or later, got 0.3.1',
    );
    expect((await call(recorder().plugin, { ...env, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.4.0' }))).code).toBe(0);
  });

  for (const cmd of ['GC', 'STATUS']) {
    it(`${cmd} below 1.1.0 → 1`, async () => {
      const stdin = conf({ cniVersion: '1.0.0', 'cni.dev/valid-attachments': [] });
      await expectError(call(recorder().plugin, { ...env, CNI_COMMAND: cmd }, stdin), 1, `${cmd} needs cniVersion 1.1.0 or later, got 1.0.0`);
    });
  }

  it('reads a prevResult of an older version into the 1.1.0 shape', async () => {
    const { plugin, calls } = recorder();
    const prevResult = { cniVersion: '0.4.0', interfaces: [{ name: 'eth0' }], ips: [{ version: '4', interface: 0, address: '10.22.0.5/24' }] };
    const r = await call(plugin, { ...env, CNI_COMMAND: 'DEL' }, conf({ cniVersion: '0.4.0', prevResult }));
    expect(r.code).toBe(0);
    expect((calls[0]!.args as CmdArgs).config.prevResult).toEqual({
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0' }],
      ips: [{ interface: 0, address: '10.22.0.5/24' }],
    });
  });

  it('drops a null prevResult', async () => {
    const { plugin, calls } = recorder();
    await call(plugin, { ...env, CNI_COMMAND: 'DEL' }, conf({ prevResult: null }));
    expect('prevResult' in (calls[0]!.args as CmdArgs).config).toBe(false);
  });
});

describe('commands and output', () => {
  const env = { ...baseEnv, CNI_COMMAND: 'ADD' };

  for (const v of SUPPORTED_VERSIONS) {
    it(`ADD prints the result in the config's version ${v}`, async () => {
      const r = await call(recorder().plugin, env, conf({ cniVersion: v }));
      expect(r.code).toBe(0);
      const modern = v === '1.1.0' || v === '1.0.0';
      expect(r.json).toEqual({
        cniVersion: v,
        interfaces: [v === '1.1.0' ? result.interfaces![0] : { name: 'eth0', mac: '0a:58:0a:16:00:05', sandbox: '/run/netns/pod' }],
        ips: [{ ...(modern ? {} : { version: '4' }), address: '10.22.0.5/24', gateway: '10.22.0.1', interface: 0 }],
        routes: [v === '1.1.0' ? { dst: '0.0.0.0/0', gw: '10.22.0.1', priority: 10 } : { dst: '0.0.0.0/0', gw: '10.22.0.1' }],
      });
    });
  }

  for (const cmd of ['DEL', 'CHECK', 'GC', 'STATUS']) {
    it(`${cmd} prints nothing on success`, async () => {
      const r = await call(recorder().plugin, { ...env, CNI_COMMAND: cmd }, conf({ 'cni.dev/valid-attachments': [] }));
      expect(r).toMatchObject({ code: 0, stdout: '' });
    });
  }

  it('absent gc/status handlers succeed', async () => {
    const { plugin } = recorder({ noGc: true });
    delete plugin.status;
    const stdin = conf({ 'cni.dev/valid-attachments': [] });
    expect(await call(plugin, { CNI_COMMAND: 'GC', CNI_PATH: '/x' }, stdin)).toMatchObject({ code: 0, stdout: '' });
    expect(await call(plugin, { CNI_COMMAND: 'STATUS' }, stdin)).toMatchObject({ code: 0, stdout: '' });
  });

  it('VERSION echoes stdin cniVersion, else answers 1.1.0, ignoring everything else', async () => {
    const supportedVersions = [...SUPPORTED_VERSIONS];
    const probe = await call(recorder().plugin, { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(probe).toMatchObject({ code: 0, json: { cniVersion: '1.0.0', supportedVersions } });
    for (const stdin of ['', 'garbage', '{"cniVersion":7}', 'null']) {
      const r = await call(recorder().plugin, { CNI_COMMAND: 'VERSION', CNI_IFNAME: '..' }, stdin);
      expect(r).toMatchObject({ code: 0, json: { cniVersion: '1.1.0', supportedVersions } });
    }
  });
});

describe('GC attachments', () => {
  const env = { CNI_COMMAND: 'GC', CNI_PATH: '/x' };
  const list = [{ containerID: 'c1', ifname: 'eth0' }];

  it('reads cni.dev/valid-attachments, preferring it to cni.dev/attachments', async () => {
    const { plugin, calls } = recorder();
    await call(plugin, env, conf({ 'cni.dev/valid-attachments': list, 'cni.dev/attachments': [] }));
    expect((calls[0]!.args as GcArgs).validAttachments).toEqual(list);
  });

  it('falls back to cni.dev/attachments; null is an empty list', async () => {
    const { plugin, calls } = recorder();
    await call(plugin, env, conf({ 'cni.dev/attachments': list }));
    await call(plugin, env, conf({ 'cni.dev/valid-attachments': null }));
    expect(calls.map((c) => (c.args as GcArgs).validAttachments)).toEqual([list, []]);
  });

  const bad: Array<[string, unknown, string]> = [
    ['absent', undefined, 'GC config has no cni.dev/valid-attachments'],
    ['not an array', { 'cni.dev/valid-attachments': {} }, 'cni.dev/valid-attachments must be an array'],
    ['entry not an object', { 'cni.dev/attachments': ['c1'] }, 'cni.dev/attachments[0].containerID must be a string'],
    ['ifname missing', { 'cni.dev/valid-attachments': [...list, { containerID: 'c2' }] }, 'cni.dev/valid-attachments[1].ifname must be a string'],
  ];
  for (const [what, extra, msg] of bad) {
    it(`${what} → 7`, async () => {
      const { plugin, calls } = recorder();
      await expectError(call(plugin, env, conf((extra ?? {}) as Record<string, unknown>)), 7, msg);
      expect(calls).toHaveLength(0);
    });
  }
});

describe('errors from the plugin', () => {
  const env = { ...baseEnv, CNI_COMMAND: 'ADD' };
  const thrown: Array<[string, unknown, number, string]> = [
    ['unknown container', new CniError(3, 'container ctr-1 unknown'), 3, 'container ctr-1 unknown'],
    ['I/O', new CniError(5, 'cannot write /var/lib/x'), 5, 'cannot write'],
    ['try again later', new CniError(11, 'store busy', 'retry'), 11, 'store busy'],
    ['a plain Error', new Error('boom'), 999, 'boom'],
    ['a string', 'weird', 999, 'weird'],
    ['an error-like with a numeric code', Object.assign(new Error('range full'), { code: 11, details: 'd' }), 11, 'range full'],
  ];
  for (const [what, err, code, text] of thrown) {
    it(`${what} → ${code} JSON on stdout, exit 1, logged on stderr`, async () => {
      const r = await expectError(call(recorder({ fail: err }).plugin, env, conf({ cniVersion: '0.4.0' })), code, text);
      expect(r.json?.cniVersion).toBe('0.4.0');
      expect(Object.keys(r.json!).sort()).toEqual(['cniVersion', 'code', 'msg', ...(r.json?.details ? ['details'] : [])].sort());
    });
  }

  it('STATUS failures 50 and 51 pass through', async () => {
    for (const code of [50, 51]) {
      const { plugin } = recorder({ fail: new CniError(code, 'ipam store unusable', 'disk full') });
      const r = await expectError(call(plugin, { CNI_COMMAND: 'STATUS' }), code, 'ipam store unusable');
      expect(r.json).toEqual({ cniVersion: '1.1.0', code, msg: 'ipam store unusable', details: 'disk full' });
    }
  });

  // No prefix, or a prefix length spelt with a leading zero (one spelling per length, as the bridge reads it).
  it.each(['10.22.0.5', '10.22.0.5/024'])('an ADD result that cannot be printed (%s) is an error, not a half-written result', async (address) => {
    const { plugin } = recorder({ add: async () => ({ cniVersion: '1.1.0', ips: [{ address }] }) });
    const r = await expectError(call(plugin, env), 999, 'result of ADD.ips[0].address must be an IPv4/6 address with prefix length', JSON.stringify(address));
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('logging', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pnt-cni-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('appends to the config logFile at its logLevel, with command and container ID', async () => {
    const file = join(dir, 'sub', 'podnet.log');
    const env = { ...baseEnv, CNI_COMMAND: 'ADD' };
    const r = await call(recorder({ fail: new CniError(11, 'busy') }).plugin, env, conf({ logFile: file, logLevel: 'debug' }));
    expect(r.code).toBe(1);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.some((l) => / DEBUG ADD ctr-1: network podnet type podnet-bridge/.test(l))).toBe(true);
    expect(lines.some((l) => /^\d{4}-\d\d-\d\dT.* ERROR ADD ctr-1: error 11: busy$/.test(l))).toBe(true);
    // stderr stays at the default level (warn): no debug lines there.
    expect(r.stderr).not.toContain('DEBUG');
  });

  it('PODNET_LOG_LEVEL=debug raises the stderr level', async () => {
    const r = await call(recorder().plugin, { ...baseEnv, CNI_COMMAND: 'DEL', PODNET_LOG_LEVEL: 'debug' });
    expect(r.stderr).toMatch(/DEBUG DEL ctr-1: ok/);
  });

  it('an unwritable log file or bad log settings never fail the call', async () => {
    const env = { ...baseEnv, CNI_COMMAND: 'DEL' };
    const r = await call(recorder().plugin, env, conf({ logFile: '/proc/pnt-cni-nope/x.log', logLevel: 'debug' }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('cannot write log file /proc/pnt-cni-nope/x.log');
    const r2 = await call(recorder().plugin, env, conf({ logFile: 3, logLevel: 'loud' }));
    expect(r2.code).toBe(0);
    expect(r2.stderr).toContain('ignoring logFile 3');
    expect(r2.stderr).toContain('ignoring logLevel "loud"');
  });
});
