// Text views for people (the CLI and the demo): status per node, pods, routes.
import type { ClusterLab, NodeStatus } from './lab.js';

export function renderStatus(lab: ClusterLab, nodes: NodeStatus[]): string {
  const s = lab.state;
  const lines = [
    `lab ${s.id} (${s.backend}, store ${s.backend === 'bridge' ? 'none' : s.store}${s.storeSpec ? ` ${s.storeSpec}` : ''}, cni ${cniMode(s.cniMode)}), state ${s.dir}`,
    `underlay ${s.underlaySubnet} on ${s.fabric.netns}/${s.fabric.bridge}${s.etcd ? `, etcd ${s.etcd.endpoint}` : ''}`,
  ];
  for (const n of nodes) {
    const agent = n.agent
      ? n.agent.alive
        ? `podnetd pid ${n.node.agent!.pid} healthz ${n.agent.healthz} readyz ${n.agent.readyz}`
        : 'podnetd NOT RUNNING'
      : 'no agent';
    const subnet = n.lease?.subnets?.ipv4 ?? (s.bridgeSubnet ? `${s.bridgeSubnet} (static)` : 'no lease file');
    lines.push(`${n.node.name}  ${n.node.address}  subnet ${subnet}  ${agent}`);
    if (n.cni) {
      const daemon =
        n.cni.daemonAlive === undefined ? '' : n.cni.daemonAlive ? `podnetd serve-cni pid ${n.node.cniDaemon!.pid}, ` : 'podnetd serve-cni NOT RUNNING, ';
      lines.push(`    cni ${daemon}socket ${n.cni.socket}${n.cni.present ? '' : ' MISSING (calls run in-process)'}`);
    }
    const view = agentView(n.agent?.status);
    if (view) lines.push(`    ${view}`);
    // In node order (the routes come sorted as text).
    const via = (r: string): number => s.nodes.findIndex((x) => r.includes(` via ${x.address} `));
    for (const r of [...n.routes].sort((a, b) => via(a) - via(b))) {
      const peer = s.nodes[via(r)];
      lines.push(`    route ${r}${peer ? `  (→ ${peer.name})` : ''}`);
    }
    for (const p of lab.podsOf(n.node.name)) lines.push(`    pod ${p.name}  ${p.ip ?? '(no address)'}  ${p.netns}`);
  }
  return lines.join('\n');
}

function cniMode(mode: string | undefined): string {
  return mode === 'thick' ? 'thick: podnetd serves the CNI calls' : 'embedded: the executables do the calls';
}

/** The agent's own account (`/status`), read defensively: it is another program's JSON. */
interface AgentStatusView {
  state?: string;
  store?: { kind?: string; down?: boolean };
  lease?: { expiresAt?: string; revision?: number };
  peers?: Array<{ node?: string }>;
  skipped?: unknown[];
  lastReconcile?: { at?: string; trigger?: string; errors?: unknown[] };
}

function agentView(status: unknown): string | undefined {
  if (typeof status !== 'object' || status === null) return undefined;
  const v = status as AgentStatusView;
  const parts = [
    `lease ${v.state ?? '?'}${v.lease?.expiresAt ? ` until ${v.lease.expiresAt}` : ''}${v.lease?.revision !== undefined ? ` (rev ${v.lease.revision})` : ''}`,
    `store ${v.store?.kind ?? '?'} ${v.store?.down ? 'DOWN' : 'up'}`,
    `peers ${(v.peers ?? []).map((p) => p.node ?? '?').join(' ') || 'none'}`,
  ];
  if (v.skipped?.length) parts.push(`${v.skipped.length} skipped`);
  if (v.lastReconcile)
    parts.push(`last reconcile ${v.lastReconcile.at ?? '?'} (${v.lastReconcile.trigger ?? '?'}, ${v.lastReconcile.errors?.length ?? 0} errors)`);
  return parts.join(' · ');
}
