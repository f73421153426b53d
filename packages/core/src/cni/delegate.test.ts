// Delegation against tiny /bin/sh plugins written into a temp dir: they record their env and
// stdin per command, and answer a result, an error JSON, or nothing.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { delegateAdd, delegateCheck, delegateDel, delegateGc, delegateStatus, findPlugin, withDelegateRollback, type DelegateContext } from './delegate.js';
import { CniError } from './errors.js';
import type { NetConf } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'pnt-cni-'));
const bin1 = join(root, 'bin1');
const bin2 = join(root, 'bin2');
const out = join(root, 'out');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function plugin(dir: string, name: string, body: string, mode = 0o755): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name);
  // Record env and stdin, then behave.
  writeFileSync(file, `#!/bin/sh\nenv > "$PNT_OUT/$CNI_COMMAND.env"\ncat > "$PNT_OUT/$CNI_COMMAND.stdin"\n${body}\n`);
  chmodSync(file, mode);
}

const result040 = JSON.stringify({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.9.0.2/24', gateway: '10.9.0.1' }], dns: {} });
beforeAll(() => {
  plugin(bin1, 'fake-ipam', `[ "$CNI_COMMAND" = ADD ] && echo '${result040}'\nexit 0`);
  plugin(bin1, 'fake-busy', `echo '{"cniVersion":"0.4.0","code":11,"msg":"store busy","details":"retry later"}'\nexit 1`);
  plugin(bin1, 'fake-crash', `echo "panic: nil map" >&2\nexit 2`);
  plugin(bin1, 'fake-garbage', `echo 'this is not json'\nexit 0`);
  plugin(bin1, 'fake-addfail', `[ "$CNI_COMMAND" = ADD ] && { echo '{"code":7,"msg":"no ranges"}'; exit 1; }\nexit 0`);
  plugin(
    bin1,
    'fake-delfail',
    `[ "$CNI_COMMAND" = ADD ] && echo '${result040}'\n[ "$CNI_COMMAND" = DEL ] && { echo '{"code":5,"msg":"disk gone"}'; exit 1; }\nexit 0`,
  );
  plugin(bin1, 'fake-noexec', 'exit 0', 0o644);
  plugin(bin1, 'fake-killed', 'kill -KILL $$');
  // Exits without reading stdin (the recording `cat` is skipped): EPIPE must not be the error.
  mkdirSync(bin1, { recursive: true });
  writeFileSync(join(bin1, 'fake-deaf'), `#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && echo '${result040}'\nexit 0\n`);
  chmodSync(join(bin1, 'fake-deaf'), 0o755);
  plugin(bin2, 'fake-noexec', `[ "$CNI_COMMAND" = ADD ] && echo '${result040}'\nexit 0`);
  plugin(bin2, 'fake-ipam', 'echo "second dir must not be used" >&2; exit 1');
  mkdirSync(join(bin1, 'fake-dir'));
});

const stdin = Buffer.from('{"cniVersion":"0.4.0","name":"net1","type":"podnet-bridge","ipam":{"type":"fake-ipam"}}\n');
const ctx: DelegateContext = {
  env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_PATH: `${bin1}:${bin2}`, PNT_OUT: out, PATH: process.env.PATH, UNSET: undefined },
  path: [bin1, bin2],
  stdin,
  config: JSON.parse(stdin.toString()) as NetConf,
};

const ran = (cmd: string) => existsSync(join(out, `${cmd}.env`));
const envOf = (cmd: string) => readFileSync(join(out, `${cmd}.env`), 'utf8').split('\n');

async function rejection(p: Promise<unknown>): Promise<CniError> {
  try {
    await p;
  } catch (err) {
    return err as CniError;
  }
  throw new Error('expected a rejection');
}

beforeEach(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
});

describe('findPlugin', () => {
  it('takes the first executable regular file along CNI_PATH', () => {
    expect(findPlugin('fake-ipam', [bin1, bin2])).toBe(join(bin1, 'fake-ipam'));
    expect(findPlugin('fake-noexec', [bin1, bin2])).toBe(join(bin2, 'fake-noexec'));
  });

  it('rejects a type with "/" and lists the searched dirs when not found (code 7)', () => {
    for (const type of ['../bin2/fake-ipam', '/bin/sh', '', '..']) {
      expect(() => findPlugin(type, [bin1])).toThrow(expect.objectContaining({ code: 7, msg: expect.stringContaining('invalid plugin type') }));
    }
    let e: CniError | undefined;
    try {
      findPlugin('fake-dir', [bin1, bin2]);
    } catch (err) {
      e = err as CniError;
    }
    expect(e?.code).toBe(7);
    expect(e?.msg).toBe('plugin "fake-dir" not found in CNI_PATH');
    expect(e?.details).toContain(`${bin1}, ${bin2}`);
    expect(() => findPlugin('fake-ipam', [])).toThrow(expect.objectContaining({ details: 'CNI_PATH is empty' }));
  });
});

describe('delegate calls', () => {
  it('ADD: same env with CNI_COMMAND set, same stdin bytes, result read into the 1.1.0 shape', async () => {
    const r = await delegateAdd('fake-ipam', { ...ctx, env: { ...ctx.env, CNI_COMMAND: 'CHECK' } });
    expect(r).toEqual({ cniVersion: '1.1.0', ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }], dns: {} });
    const env = envOf('ADD');
    expect(env).toContain('CNI_COMMAND=ADD');
    expect(env).toContain('CNI_CONTAINERID=c1');
    expect(env).toContain(`CNI_PATH=${bin1}:${bin2}`);
    expect(env.some((l) => l.startsWith('UNSET='))).toBe(false);
    expect(readFileSync(join(out, 'ADD.stdin')).equals(stdin)).toBe(true);
  });

  it('DEL, CHECK, GC, STATUS set their command and print nothing', async () => {
    await delegateDel('fake-ipam', ctx);
    await delegateCheck('fake-ipam', ctx);
    await delegateGc('fake-ipam', ctx);
    await delegateStatus('fake-ipam', ctx);
    for (const cmd of ['DEL', 'CHECK', 'GC', 'STATUS']) expect(envOf(cmd)).toContain(`CNI_COMMAND=${cmd}`);
  });

  it('sends a given config object instead of the stdin bytes', async () => {
    const config = { cniVersion: '0.4.0', name: 'net1', type: 'fake-ipam', extra: true };
    await delegateAdd('fake-ipam', ctx, { config });
    expect(JSON.parse(readFileSync(join(out, 'ADD.stdin'), 'utf8'))).toEqual(config);
  });

  it("re-throws the delegate's error JSON with its code, msg prefixed by the type", async () => {
    const e = await rejection(delegateAdd('fake-busy', ctx));
    expect(e).toBeInstanceOf(CniError);
    expect({ code: e.code, msg: e.msg, details: e.details }).toEqual({ code: 11, msg: 'fake-busy: store busy', details: 'retry later' });
  });

  it('a crash without error JSON → 999 with the stderr tail', async () => {
    const e = await rejection(delegateDel('fake-crash', ctx));
    expect(e.code).toBe(999);
    expect(e.msg).toBe('fake-crash: DEL exited with code 2 without an error on stdout');
    expect(e.details).toContain('panic: nil map');
  });

  it('a delegate killed by a signal → 999 naming the signal', async () => {
    const e = await rejection(delegateDel('fake-killed', ctx));
    expect(e.code).toBe(999);
    expect(e.msg).toBe('fake-killed: DEL was killed by SIGKILL without an error on stdout');
  });

  it('a delegate that never reads stdin still succeeds', async () => {
    const big = { ...ctx, stdin: Buffer.alloc(1 << 20, 0x20) };
    await expect(delegateAdd('fake-deaf', big)).resolves.toMatchObject({ ips: [{ address: '10.9.0.2/24' }] });
  });

  it('an undecodable ADD result → 6', async () => {
    const e = await rejection(delegateAdd('fake-garbage', ctx));
    expect(e.code).toBe(6);
    expect(e.msg).toContain('result of fake-garbage');
  });

  it('a missing delegate → 7', async () => {
    expect((await rejection(delegateAdd('pnt-cni-missing', ctx))).code).toBe(7);
  });
});

describe('withDelegateRollback', () => {
  it('returns the body value and does not DEL on success', async () => {
    const v = await withDelegateRollback('fake-ipam', ctx, async (r) => r.ips?.[0]?.address);
    expect(v).toBe('10.9.0.2/24');
    expect(ran('DEL')).toBe(false);
  });

  it('DELs the delegate when the body fails and rethrows the body error', async () => {
    const boom = new CniError(5, 'cannot create veth');
    const e = await rejection(
      withDelegateRollback('fake-ipam', ctx, async () => {
        throw boom;
      }),
    );
    expect(e).toBe(boom);
    expect(envOf('DEL')).toContain('CNI_COMMAND=DEL');
    expect(readFileSync(join(out, 'DEL.stdin')).equals(stdin)).toBe(true);
  });

  it('DELs the delegate when its own ADD fails', async () => {
    let bodyRan = false;
    const e = await rejection(
      withDelegateRollback('fake-addfail', ctx, async () => {
        bodyRan = true;
      }),
    );
    expect({ code: e.code, msg: e.msg }).toEqual({ code: 7, msg: 'fake-addfail: no ranges' });
    expect(bodyRan).toBe(false);
    expect(ran('DEL')).toBe(true);
  });

  it('a failed rollback DEL is added to the details, never replacing the first error', async () => {
    const e = await rejection(
      withDelegateRollback('fake-delfail', ctx, async () => {
        throw new CniError(5, 'cannot create veth', 'EEXIST');
      }),
    );
    expect(e.code).toBe(5);
    expect(e.msg).toBe('cannot create veth');
    expect(e.details).toBe('EEXIST; rollback DEL of fake-delfail also failed: fake-delfail: disk gone');
  });
});
