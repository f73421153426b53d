// The connectivity matrix: every pod and every node (host network) connects over TCP to every
// pod; each pod runs a tiny service that answers with the source address it saw, and a cell
// passes only when that is the sender's own address — the pod's IP, or for a node the address
// its kernel picked as source (`ip route get`) — i.e. nothing on the path rewrote it (no NAT).
import { spawn, type ChildProcess } from 'node:child_process';
import { Netns } from '../netns.js';
import type { LabState, PodRecord } from './state.js';

export type CellKind = 'same-node' | 'cross-node' | 'node-local' | 'node-remote' | 'pod-outside';

export interface MatrixCell {
  from: string;
  to: string;
  kind: CellKind;
  /** The address the receiver must see. */
  expected: string;
  /** The address the receiver saw; undefined when the connection failed. */
  seen?: string;
  error?: string;
  ok: boolean;
}

export interface MatrixSource {
  label: string;
  node: string;
  netns: string;
  /** A pod's own IP; undefined for a node (its source depends on the route). */
  ip?: string;
  isNode: boolean;
}

/** A receiver: a pod, or the host outside the cluster network (the fabric's own address). */
export interface MatrixTarget {
  label: string;
  /** The pod's node; undefined for the outside host. */
  node?: string;
  netns: string;
  ip: string;
}

export interface Matrix {
  sources: MatrixSource[];
  targets: MatrixTarget[];
  cells: MatrixCell[];
  ok: boolean;
}

export const MATRIX_PORT = 7777;

const SERVER = `
const s = require('node:net').createServer((c) => c.end(c.remoteAddress.replace(/^::ffff:/, '') + '\\n'));
s.listen({ port: Number(process.argv[1]), host: '0.0.0.0' }, () => process.stdout.write('ready\\n'));
`;
// One client process per source probes every target at once: a Node start per cell would make
// the matrix of a 3 × 2 lab take seconds.
const CLIENT = `
const net = require('node:net');
const port = Number(process.argv[1]);
const one = (host) => new Promise((resolve) => {
  const c = net.connect({ host, port });
  let seen = '';
  const timer = setTimeout(() => { c.destroy(); resolve({ host, error: 'no answer in 3 s' }); }, 3000);
  c.on('data', (b) => (seen += b));
  c.on('end', () => { clearTimeout(timer); resolve({ host, seen: seen.trim() }); });
  c.on('error', (e) => { clearTimeout(timer); resolve({ host, error: e.code ?? e.message }); });
});
Promise.all(process.argv.slice(2).map(one)).then((r) => process.stdout.write(JSON.stringify(r)));
`;

export function podLabel(pod: Pick<PodRecord, 'node' | 'name'>): string {
  return `${pod.node}/${pod.name}`;
}

export const OUTSIDE_LABEL = 'outside';

async function startServer(pod: MatrixTarget): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', pod.netns, process.execPath, '-e', SERVER, String(MATRIX_PORT)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`matrix service in ${pod.label} did not start: ${err}`)), 10_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`matrix service in ${pod.label} exited (${code}): ${err}`));
    });
  });
  return child;
}

/** The source address `netns`'s kernel uses towards `ip`. */
async function sourceTowards(netns: string, ip: string): Promise<string | undefined> {
  const r = await new Netns(netns).exec('ip', ['-j', 'route', 'get', ip]);
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as Array<{ prefsrc?: string }>)[0]?.prefsrc;
}

function kindOf(source: MatrixSource, target: MatrixTarget): CellKind {
  if (target.node === undefined) return 'pod-outside';
  if (source.isNode) return source.node === target.node ? 'node-local' : 'node-remote';
  return source.node === target.node ? 'same-node' : 'cross-node';
}

/**
 * Runs the matrix. Besides every pod, the fabric's own address is a receiver: a host on the
 * underlay outside the cluster network, which pods reach masqueraded (it must see the pod's
 * node's underlay address, not the pod's) — the one place NAT is wanted.
 */
export async function runMatrix(state: LabState): Promise<Matrix> {
  const pods = state.pods.filter((p): p is PodRecord & { ip: string } => p.ip !== undefined);
  const podTargets: MatrixTarget[] = pods.map((p) => ({ label: podLabel(p), node: p.node, netns: p.netns, ip: p.ip }));
  const outside: MatrixTarget = { label: OUTSIDE_LABEL, netns: state.fabric.netns, ip: state.fabric.address };
  const targets = [...podTargets, outside];
  const sources: MatrixSource[] = [
    ...pods.map((p) => ({ label: podLabel(p), node: p.node, netns: p.netns, ip: p.ip, isNode: false })),
    ...state.nodes.map((n) => ({ label: `${n.name} (host)`, node: n.name, netns: n.netns, isNode: true })),
  ];
  const nodeAddress = new Map(state.nodes.map((n) => [n.name, n.address]));
  const servers: ChildProcess[] = [];
  try {
    servers.push(...(await Promise.all(targets.map(startServer))));
    const rows = await Promise.all(
      sources.map(async (source) => {
        // Nodes are on the underlay themselves: "outside" is a column for pods only.
        const to = targets.filter((t) => t.netns !== source.netns && !(source.isNode && t === outside));
        const r = await new Netns(source.netns).exec(process.execPath, ['-e', CLIENT, String(MATRIX_PORT), ...to.map((t) => t.ip)], {
          timeoutMs: 15_000,
        });
        let answers: Array<{ host: string; seen?: string; error?: string }> = [];
        try {
          answers = JSON.parse(r.stdout) as typeof answers;
        } catch {
          answers = to.map((t) => ({ host: t.ip, error: `probe failed: ${r.stderr.trim() || `exit ${r.code}`}` }));
        }
        return Promise.all(
          to.map(async (target): Promise<MatrixCell> => {
            const a = answers.find((x) => x.host === target.ip);
            const kind = kindOf(source, target);
            const expected =
              kind === 'pod-outside' ? (nodeAddress.get(source.node) ?? '?') : (source.ip ?? (await sourceTowards(source.netns, target.ip)) ?? '?');
            const cell: MatrixCell = { from: source.label, to: target.label, kind, expected, ok: false };
            if (a?.seen !== undefined) cell.seen = a.seen;
            if (a?.error !== undefined) cell.error = a.error;
            cell.ok = a?.seen === expected;
            return cell;
          }),
        );
      }),
    );
    const cells = rows.flat();
    return { sources, targets, cells, ok: cells.length > 0 && cells.every((c) => c.ok) };
  } finally {
    for (const s of servers) s.kill('SIGKILL');
  }
}

const SHORT: Record<CellKind, string> = {
  'same-node': 'same',
  'cross-node': 'cross',
  'node-local': 'local',
  'node-remote': 'remote',
  'pod-outside': 'masq',
};

export const KIND_TITLES: Record<CellKind, string> = {
  'same-node': 'pod → pod, same node',
  'cross-node': 'pod → pod, across nodes',
  'node-local': 'node → local pod',
  'node-remote': 'node → remote pod',
  'pod-outside': 'pod → outside the cluster (masqueraded)',
};

/** The matrix as a text table (rows: senders, columns: receiving pods) and a per-kind summary. */
export function renderMatrix(m: Matrix): string {
  const cellText = (source: MatrixSource, target: MatrixTarget): string => {
    const c = m.cells.find((x) => x.from === source.label && x.to === target.label);
    if (!c) return '·';
    if (c.ok) return `✓ ${SHORT[c.kind]}`;
    return `✗ ${c.seen ? `saw ${c.seen}` : (c.error ?? 'failed')}`;
  };
  const header = ['from \\ to', ...m.targets.map((t) => t.label)];
  const sub = ['', ...m.targets.map((t) => t.ip)];
  const body = m.sources.map((s) => [`${s.label} ${s.ip ?? ''}`.trim(), ...m.targets.map((t) => cellText(s, t))]);
  const rows = [header, sub, ...body];
  const widths = header.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  const pad = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - [...s].length));
  const lines = rows.map((r) =>
    r
      .map((c, i) => pad(c, widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  lines.splice(2, 0, widths.map((w) => '─'.repeat(w)).join('  '));
  const summary = (Object.keys(KIND_TITLES) as CellKind[])
    .map((k) => {
      const of = m.cells.filter((c) => c.kind === k);
      return of.length ? `${KIND_TITLES[k]}: ${of.filter((c) => c.ok).length}/${of.length}` : undefined;
    })
    .filter((s): s is string => s !== undefined);
  lines.push(
    '',
    'same/cross: pod → pod on one node / across nodes; local/remote: the node itself (host network) → a pod on it / on another node;',
    `masq: pod → ${m.targets.find((t) => t.label === OUTSIDE_LABEL)?.ip ?? 'a host'} on the underlay, outside the cluster network: seen from the pod's node (the only NAT)`,
  );
  lines.push(summary.join(' · '));
  lines.push(
    m.ok
      ? `all ${m.cells.length} cells passed: every pod and node receiver saw the sender's own address (no NAT inside the cluster)`
      : `${m.cells.filter((c) => !c.ok).length} of ${m.cells.length} cells FAILED`,
  );
  if (m.ok) {
    // One example per kind, spelled out: what the receiver saw and whose address that is.
    for (const kind of Object.keys(KIND_TITLES) as CellKind[]) {
      const c = m.cells.find((x) => x.kind === kind);
      if (!c) continue;
      const node = c.from.replace(/ \(host\)$/, '');
      const whose = {
        'same-node': `${c.from}'s own IP`,
        'cross-node': `${c.from}'s own IP`,
        'node-local': `${node}'s own address on its pod bridge`,
        'node-remote': `${node}'s own underlay address`,
        'pod-outside': `the underlay address of ${c.from.split('/')[0]}, the pod's node (masqueraded)`,
      }[kind];
      lines.push(`  e.g. ${c.from} → ${c.to}: the receiver saw ${c.seen} = ${whose}`);
    }
  }
  for (const c of m.cells.filter((x) => !x.ok)) {
    lines.push(`  ✗ ${c.from} → ${c.to} (${KIND_TITLES[c.kind]}): expected source ${c.expected}, ${c.seen ? `saw ${c.seen}` : `error: ${c.error ?? 'none'}`}`);
  }
  return lines.join('\n');
}
