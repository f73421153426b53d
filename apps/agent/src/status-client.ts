// `podnetd status`: ask the running agent over its HTTP listener and print what it knows.
import { request } from 'node:http';
import type { AgentStatus } from './agent.js';
import type { Listen } from './http.js';

export function fetchStatus(at: Listen, timeoutMs = 3000): Promise<AgentStatus> {
  const host = at.host === '::' || at.host === '0.0.0.0' ? '127.0.0.1' : at.host;
  return new Promise((resolve, reject) => {
    const req = request({ host, port: at.port, path: '/status', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`podnetd at ${host}:${at.port} answered ${res.statusCode}: ${body.trim()}`));
        try {
          resolve(JSON.parse(body) as AgentStatus);
        } catch (error) {
          reject(new Error(`podnetd at ${host}:${at.port}: /status is not JSON: ${(error as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => reject(new Error(`cannot reach podnetd at ${host}:${at.port} (is it running, with this --listen?): ${error.message}`)));
    req.end();
  });
}

export function formatStatus(s: AgentStatus): string {
  const lines = [
    `node:        ${s.node}`,
    `ready:       ${s.ready ? 'yes' : `no (${s.readyReason})`}`,
    `lease:       ${s.lease ? `${[s.lease.subnets.ipv4, s.lease.subnets.ipv6].filter(Boolean).join(', ')} via ${s.lease.nodeIps.join(', ')}, expires ${s.lease.expiresAt}` : s.state}`,
    `store:       ${s.store.kind}${s.store.down ? ' (unreachable, retrying)' : ''}`,
    `backend:     ${s.backend ?? '-'}`,
    `underlay:    ${s.underlay ? `${s.underlay.name} mtu ${s.underlay.mtu} ${s.underlay.addresses.join(', ')}` : '-'}`,
    `lease file:  ${s.leaseFile}`,
    `routes:      ${s.routesProgrammed ?? '-'} programmed`,
  ];
  if (s.lastReconcile) {
    lines.push(
      `reconciled:  ${s.lastReconcile.at} (${s.lastReconcile.trigger}, ${s.lastReconcile.durationMs.toFixed(1)} ms${s.lastReconcile.changes !== undefined ? `, ${s.lastReconcile.changes} changes` : ''}${s.lastReconcile.error ? `, failed: ${s.lastReconcile.error}` : ''})`,
    );
    for (const e of s.lastReconcile.errors ?? []) lines.push(`  error: ${e}`);
  }
  lines.push(`peers:       ${s.peers.length}`);
  const skipped = new Map(s.skipped.map((x) => [x.node, x.reason]));
  for (const p of s.peers) {
    const why = skipped.get(p.node);
    lines.push(`  ${p.node.padEnd(20)} ${p.subnets.join(', ').padEnd(36)} via ${p.nodeIps.join(', ')}${why ? `  SKIPPED: ${why}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
