// Reaching a server on the root netns's loopback (a test etcd) from inside a node netns, whose
// loopback is its own: a unix socket (the filesystem is shared by every netns) in between.
//   node netns 127.0.0.1:<port>  →  forwarder process  →  <dir>/bridge.sock  →  this process  →  root 127.0.0.1:<target>
// Bytes pass through untouched, so TLS stays end to end (the server's certificate names 127.0.0.1).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import type { Server } from 'node:net';
import { join } from 'node:path';

export interface LoopbackBridge {
  /** The URL to give the agent inside the node netns. */
  url: string;
  close(): Promise<void>;
}

export async function bridgeIntoNetns(ns: string, target: URL, dir: string, port: number): Promise<LoopbackBridge> {
  const sock = join(dir, 'bridge.sock');
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const script = `const net = require('net');
net.createServer((c) => { const u = net.createConnection(${JSON.stringify(sock)}); c.pipe(u).pipe(c);
  const end = () => { c.destroy(); u.destroy(); }; c.on('error', end).on('close', end); u.on('error', end).on('close', end);
}).listen(${port}, '127.0.0.1', () => console.log('listening'));`;
  const forwarder: ChildProcess = spawn('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    forwarder.stdout?.once('data', () => resolve());
    forwarder.once('exit', (code) => reject(new Error(`loopback forwarder in ${ns} exited ${code}`)));
  });
  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    close: async () => {
      forwarder.kill('SIGKILL');
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
