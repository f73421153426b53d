// The agent's HTTP listener (node:http): /healthz (the process answers), /readyz (200 once the
// lease file is written and the first reconcile is done, 503 before and while the lease is
// lost), /metrics (Prometheus text), /status (JSON for `podnetd status`).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { AgentMetrics } from './metrics.js';

export interface HttpSources {
  ready(): { ready: boolean; reason: string };
  status(): unknown;
  metrics: AgentMetrics;
}

export interface Listen {
  host: string;
  port: number;
}

/** `127.0.0.1:9808`, `[::1]:9808`, `:9808` (every address); `field` names the flag in errors. */
export function parseListen(text: string, field = '--listen'): Listen {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port > 65535) throw new Error(`${field}: "${text}" is not host:port (e.g. 127.0.0.1:9808, [::1]:9808, :9808)`);
  return { host: m[1] ?? (m[2] === '' ? '::' : (m[2] as string)), port };
}

export class HttpService {
  #server: Server;

  constructor(
    private readonly sources: HttpSources,
    private readonly log: Logger,
  ) {
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const send = (code: number, type: string, body: string): void => {
        res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
      switch (path) {
        case '/healthz':
          return send(200, 'text/plain', 'ok\n');
        case '/readyz': {
          const r = this.sources.ready();
          return send(r.ready ? 200 : 503, 'text/plain', `${r.reason}\n`);
        }
        case '/status':
          return send(200, 'application/json', `${JSON.stringify(this.sources.status(), null, 2)}\n`);
        case '/metrics':
          this.sources.metrics.text().then(
            (text) => send(200, this.sources.metrics.contentType, text),
            (error: unknown) => send(500, 'text/plain', `${(error as Error).message}\n`),
          );
          return;
        default:
          return send(404, 'text/plain', 'not found: /healthz /readyz /metrics /status\n');
      }
    });
  }

  listen(at: Listen): Promise<Listen> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(new Error(`--listen ${at.host}:${at.port}: ${error.message}`));
      this.#server.once('error', onError);
      this.#server.listen(at.port, at.host, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as AddressInfo;
        this.log.info({ address: a.address, port: a.port }, 'serving /healthz /readyz /metrics /status');
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
