// The shipped CNI executables are `bun build --compile --bytecode` binaries, where the FFI is
// bun:ffi and koffi must not be bundled. This compiles a tiny entry that uses NetNS and
// NetlinkSocket (with no --external flag: the binding's hidden specifiers keep koffi out) and
// runs it as a runtime would run a CNI plugin: it creates a veth into a test netns and lists it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNamedNetns, deleteNamedNetns } from '../netns/index.js';

const BUN = fileURLToPath(new URL('../../../../node_modules/.bin/bun', import.meta.url));
const src = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const NODE = `pnt-k-bn${process.pid}`;
const POD = `pnt-k-bp${process.pid}`;
let dir: string;

const ENTRY = `
import { NetNS } from ${JSON.stringify(src('../netns/index.ts'))};
import { libc } from ${JSON.stringify(src('../libc/index.ts'))};
import { NetlinkSocket, addressAdd, getLink, linkSet, listLinks, listRoutes, routeAdd, vethAdd } from ${JSON.stringify(src('./index.ts'))};

const [nodePath, podPath] = process.argv.slice(2) as [string, string];
const nodeNs = NetNS.open(nodePath);
const podNs = NetNS.open(podPath);
const node = NetlinkSocket.open({ netns: nodeNs });
const pod = NetlinkSocket.open({ netns: podNs });
node.request(vethAdd({ name: 'pnt-k-bv0', peer: { name: 'eth0', netns: podNs } }));
const eth0 = getLink(pod, 'eth0');
if (!eth0) throw new Error('eth0 missing');
pod.batch([
  linkSet(eth0.index, { up: true }),
  addressAdd({ index: eth0.index, address: '10.66.0.2', prefixLength: 24 }),
  routeAdd({ dst: '0.0.0.0', dstLen: 0, gateway: '10.66.0.1', protocol: 99 }),
]);
let refused = '';
try { node.request(vethAdd({ name: 'pnt-k-bv0', peer: { name: 'x' } })); } catch (e) { refused = (e as { code: string }).code; }
console.log(JSON.stringify({
  runtime: libc().runtime,
  pod: listLinks(pod).map((l) => l.name).sort(),
  routes: listRoutes(pod, { protocol: 99 }).map((r) => r.dst + '/' + r.dstLen + ' via ' + r.gateway),
  refused,
}));
`;

beforeAll(() => {
  for (const n of [NODE, POD]) deleteNamedNetns(n);
  createNamedNetns(NODE);
  createNamedNetns(POD);
  dir = mkdtempSync(join(tmpdir(), 'pnt-k-bun-'));
});

afterAll(() => {
  for (const n of [NODE, POD]) deleteNamedNetns(n);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('works inside a Bun-compiled executable (bun:ffi, koffi not bundled)', () => {
  writeFileSync(join(dir, 'entry.ts'), ENTRY);
  const exe = join(dir, 'entry');
  execFileSync(BUN, ['build', '--compile', '--bytecode', join(dir, 'entry.ts'), '--outfile', exe], { stdio: 'pipe' });
  const out = execFileSync(exe, [`/run/netns/${NODE}`, `/run/netns/${POD}`], { encoding: 'utf8' });
  expect(JSON.parse(out)).toEqual({
    runtime: 'bun',
    pod: ['eth0', 'lo'],
    routes: ['0.0.0.0/0 via 10.66.0.1'],
    refused: 'EEXIST',
  });
});
