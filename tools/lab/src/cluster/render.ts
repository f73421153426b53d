// Text views for people (the CLI and the demo): status per node, pods, routes.
import type { ClusterLab, NodeStatus } from './lab.js';

export function renderStatus(lab: ClusterLab, nodes: NodeStatus[]): string {
  const s = lab.state;
  const lines = [
    `lab ${s.id} (${s.backend}, store ${s.backend === 'bridge' ? 'none' : s.store}${s.storeSpec ? ` ${s.storeSpec}` : ''}), state ${s.dir}`,
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
