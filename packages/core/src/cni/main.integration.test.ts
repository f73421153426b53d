// pluginMain as a real process (Bun runs the TypeScript entry directly, as the shipped
// executables do once compiled): env + stdin in, JSON on stdout, exit code out.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const BUN = resolve(here, '../../../../node_modules/.bin/bun');
let dir = '';
let entry = '';

beforeAll(() => {
  if (!existsSync(BUN)) throw new Error(`${BUN} missing: run pnpm install at the repository root`);
  dir = mkdtempSync(join(tmpdir(), 'pnt-cni-'));
  entry = join(dir, 'plugin.ts');
  writeFileSync(
    entry,
    `import { pluginMain } from ${JSON.stringify(join(here, 'main.ts'))};
import { CniError } from ${JSON.stringify(join(here, 'errors.ts'))};
await pluginMain({
  add: async (a) => ({ cniVersion: '1.1.0', ips: [{ address: a.args.IP ?? '10.0.0.2/24' }] }),
  del: async () => { throw new CniError(11, 'busy'); },
  check: async () => {},
}, 'pnt-cni test plugin');
`,
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function run(env: Record<string, string>, stdin: string | null) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((res, rej) => {
    const child = spawn(BUN, [entry], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr }));
    // null: leave stdin open, as a terminal would; the call must not wait for it.
    if (stdin !== null) child.stdin.end(stdin);
  });
}

const env = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/pnt-cni-none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: 'IP=10.1.0.9/16' };
const config = JSON.stringify({ cniVersion: '0.4.0', name: 'n', type: 't' });

describe('pluginMain', () => {
  it('ADD: reads stdin, prints the converted result, exits 0', async () => {
    const r = await run({ ...env, CNI_COMMAND: 'ADD' }, config);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.9/16' }] });
  });

  it('an error: JSON on stdout, exit 1', async () => {
    const r = await run({ ...env, CNI_COMMAND: 'DEL' }, config);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ cniVersion: '0.4.0', code: 11, msg: 'busy' });
    expect(r.stderr).toContain('ERROR DEL c1: error 11: busy');
  });

  it('no command: prints the about text without reading stdin, exit 0', async () => {
    const r = await run({}, null);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('pnt-cni test plugin');
  });
});
