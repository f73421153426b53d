import { describe, expect, it } from 'vitest';
import { parseResolvConf } from './resolv-conf.js';

describe('parseResolvConf', () => {
  it('reads a simple file', () => {
    expect(parseResolvConf('nameserver 10.0.0.10\n')).toEqual({ nameservers: ['10.0.0.10'] });
  });
  it('ignores comments, blank lines and unknown keywords', () => {
    expect(parseResolvConf('# hi\n; there\n\nnameserver 10.0.0.10 # trailing\nsortlist 1.2.3.4\nnameserver fd00::10\n')).toEqual({
      nameservers: ['10.0.0.10', 'fd00::10'],
    });
  });
  it('reads every field; the last domain and search win, options accumulate', () => {
    expect(
      parseResolvConf(
        'domain a.local\ndomain b.local\nsearch x y\nsearch svc.cluster.local cluster.local\noptions ndots:5\noptions edns0 rotate\nnameserver 1.1.1.1',
      ),
    ).toEqual({
      nameservers: ['1.1.1.1'],
      domain: 'b.local',
      search: ['svc.cluster.local', 'cluster.local'],
      options: ['ndots:5', 'edns0', 'rotate'],
    });
  });
  it('returns nothing for an empty file', () => {
    expect(parseResolvConf('')).toEqual({});
  });
});
