import { describe, expect, it } from 'vitest';
import { validateBackendName } from './name.js';
import { appendToBlock, insertImport, objectKey, sortedDependencies } from './wiring.js';

describe('validateBackendName', () => {
  const none = () => false;
  it.each(['wireguard', 'ipip', 'gre6', 'host-gw2', 'a-b-c'])('accepts %s', (name) => {
    expect(validateBackendName(name, none, {})).toBeUndefined();
  });
  it.each([
    ['', /required/],
    ['Wire', /not a valid backend name/],
    ['-x', /not a valid backend name/],
    ['a--b', /not a valid backend name/],
    ['a_b', /not a valid backend name/],
    ['x-', /not a valid backend name/],
    ['@podnet/x', /not a valid backend name/],
    ['backend-foo', /without "backend-"/],
    ['ipam', /taken: podnet-ipam/],
    ['portmap', /taken: podnet-portmap/],
    ['a'.repeat(41), /too long/],
  ])('refuses %j', (name, message) => {
    expect(validateBackendName(name, none, {})).toMatch(message);
  });
  it('refuses a package or a build configuration that exists', () => {
    expect(validateBackendName('vxlan', (p) => p === 'packages/backend-vxlan', {})).toMatch(/packages\/backend-vxlan is already there/);
    expect(validateBackendName('foo', none, { targets: { build: { configurations: { foo: {} } } } })).toMatch(/build configuration "foo"/);
  });
});

describe('appendToBlock', () => {
  it('adds an entry at the end of a TypeScript object literal', () => {
    const text = 'const X = {\n  a: 1,\n  b: {\n    c: 2,\n  },\n};\nconst Y = {};\n';
    expect(appendToBlock(text, 'const X = {', '  d: 3,', 'x.ts')).toBe('const X = {\n  a: 1,\n  b: {\n    c: 2,\n  },\n  d: 3,\n};\nconst Y = {};\n');
  });
  it('adds a JSON entry with the comma the previous one needs', () => {
    const text = '{\n  "c": {\n    "a": 1\n  },\n  "z": 2\n}\n';
    expect(appendToBlock(text, '"c": {', '    "b": 2', 'x.json', { json: true })).toBe('{\n  "c": {\n    "a": 1,\n    "b": 2\n  },\n  "z": 2\n}\n');
  });
  it('names the file and the anchor when the file changed shape', () => {
    expect(() => appendToBlock('const Z = {};', 'const X = {', '  d: 3,', 'apps/agent/src/backends.ts')).toThrow(
      /apps\/agent\/src\/backends.ts: cannot find "const X = \{"/,
    );
  });
});

describe('insertImport', () => {
  it('adds the import after the last backend import', () => {
    const text = "import { a } from '@podnet/backend-bridge';\nimport { b } from '@podnet/backend-vxlan';\nimport type { P } from '@podnet/core/cni';\n";
    expect(insertImport(text, "import { c } from '@podnet/backend-ipip';", 'x.ts')).toBe(
      "import { a } from '@podnet/backend-bridge';\nimport { b } from '@podnet/backend-vxlan';\nimport { c } from '@podnet/backend-ipip';\nimport type { P } from '@podnet/core/cni';\n",
    );
  });
  it('names the file when there is no backend import', () => {
    expect(() => insertImport("import x from 'y';\n", 'import z;', 'apps/agent/src/cni-service.ts')).toThrow(/apps\/agent\/src\/cni-service.ts: no "import/);
  });
});

describe('helpers', () => {
  it('quotes object keys only when needed', () => {
    expect(objectKey('vxlan')).toBe('vxlan');
    expect(objectKey('host-gw')).toBe("'host-gw'");
  });
  it('adds a workspace dependency in sorted order', () => {
    expect(Object.keys(sortedDependencies({ '@podnet/core': 'workspace:*', '@podnet/backend-vxlan': 'workspace:*' }, '@podnet/backend-ipip'))).toEqual([
      '@podnet/backend-ipip',
      '@podnet/backend-vxlan',
      '@podnet/core',
    ]);
  });
});
