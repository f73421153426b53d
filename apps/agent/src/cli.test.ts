import { describe, expect, it } from 'vitest';
import { buildCli } from './cli.js';

function run(args: string[]): { code: number | undefined; out: string } {
  let out = '';
  let code: number | undefined;
  const cli = buildCli({}, (c) => void (code = c))
    .exitOverride()
    .configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  for (const sub of cli.commands) sub.exitOverride().configureOutput({ writeOut: (s) => void (out += s), writeErr: (s) => void (out += s) });
  try {
    cli.parse(['node', 'podnetd', ...args]);
  } catch (error) {
    code = (error as { exitCode?: number }).exitCode;
  }
  return { code, out };
}

describe('podnetd command line', () => {
  it('documents every flag of run in --help', () => {
    const { out } = run(['run', '--help']);
    for (const flag of [
      '--config',
      '--node',
      '--store',
      '--etcd-ca',
      '--etcd-cert',
      '--etcd-key',
      '--network-config',
      '--network-config-overwrite',
      '--underlay',
      '--underlay-address',
      '--lease-file',
      '--listen',
      '--reconcile-period',
      '--lease-ttl',
      '--masquerade',
      '--no-masquerade',
      '--log-level',
      '--log-format',
    ]) {
      expect(out).toContain(flag);
    }
  });

  it('has run (default), status and teardown, and a version', () => {
    const { out } = run(['--help']);
    expect(out).toMatch(/run \[options\]\s+run the agent \(the default command\)/);
    expect(out).toContain('status');
    expect(out).toContain('teardown');
    expect(run(['--version']).out).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('refuses an unknown flag and a bad choice', () => {
    expect(run(['--bogus']).code).toBe(1);
    expect(run(['--log-format', 'xml']).code).toBe(1);
  });
});
