import { describe, expect, it } from 'vitest';
import { KUBERNETES_ARGS, parseCniArgs } from './args.js';
import { errorOf } from './testing/error-of.js';

describe('parseCniArgs', () => {
  it('reads what kubelet sends', () => {
    const raw = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_INFRA_CONTAINER_ID=abc123';
    expect(parseCniArgs(raw, ['IP'])).toEqual({
      values: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0', K8S_POD_INFRA_CONTAINER_ID: 'abc123' },
      ignoreUnknown: true,
    });
  });

  it('trims, skips empty pairs, keeps "=" inside values, last repeat wins', () => {
    expect(parseCniArgs(' IP = 10.0.0.5 ;; MAC=0a:58:00:00:00:01; X=a=b ;IP=10.0.0.6;').values).toEqual({
      IP: '10.0.0.6',
      MAC: '0a:58:00:00:00:01',
      X: 'a=b',
    });
    expect(parseCniArgs(undefined)).toEqual({ values: {}, ignoreUnknown: false });
    expect(parseCniArgs('')).toEqual({ values: {}, ignoreUnknown: false });
    expect(parseCniArgs('K=')).toEqual({ values: { K: '' }, ignoreUnknown: false });
  });

  it('keys are case-sensitive', () => {
    const e = errorOf(() => parseCniArgs('ip=10.0.0.5', ['IP']));
    expect(e.code).toBe(2);
    expect(e.msg).toBe('unknown CNI_ARGS key ip=10.0.0.5');
    expect(e.details).toContain('IP');
  });

  it('rejects unknown keys unless IgnoreUnknown is 1 or true', () => {
    const known = ['IP', ...KUBERNETES_ARGS];
    expect(errorOf(() => parseCniArgs('FOO=1;BAR=2;IP=1.2.3.4', known)).msg).toBe('unknown CNI_ARGS keys FOO=1, BAR=2');
    expect(errorOf(() => parseCniArgs('IgnoreUnknown=0;FOO=1', known)).code).toBe(2);
    expect(errorOf(() => parseCniArgs('IgnoreUnknown=false;FOO=1', known)).code).toBe(2);
    for (const on of ['1', 'true', 'TRUE', 'True']) {
      expect(parseCniArgs(`FOO=1;IgnoreUnknown=${on}`, known)).toEqual({ values: { FOO: '1' }, ignoreUnknown: true });
    }
    // Without a list of known keys, everything is accepted.
    expect(parseCniArgs('FOO=1').values).toEqual({ FOO: '1' });
  });

  it('malformed pairs are code 4 naming CNI_ARGS and the pair', () => {
    for (const raw of ['IP', 'IP=1;oops', '=value']) {
      const e = errorOf(() => parseCniArgs(raw));
      expect(e.code).toBe(4);
      expect(e.msg).toMatch(/^invalid CNI_ARGS pair "/);
    }
    expect(errorOf(() => parseCniArgs('A=1;oops')).msg).toBe('invalid CNI_ARGS pair "oops"');
    const e = errorOf(() => parseCniArgs('IgnoreUnknown=yes'));
    expect(e.code).toBe(4);
    expect(e.msg).toContain('IgnoreUnknown=yes');
  });
});
