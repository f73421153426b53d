// Traffic probes between namespaces: ping, and a TCP "who am I talking to" service that answers
// each connection with the peer address it sees, to show the source address is not rewritten.
import type { Netns } from './netns.js';
import type { Lab } from './lab.js';

/** True when `ip` answers one ICMP echo from inside `from` within 2 s. */
export async function ping(from: Netns, ip: string): Promise<boolean> {
  const r = await from.exec('ping', ['-n', '-q', '-c', '1', '-W', '2', ip]);
  return r.code === 0;
}

// Node runs the probes (it is always there when the lab runs); `::` also accepts IPv4.
const SERVER = `
const s = require('node:net').createServer((c) => c.end(c.remoteAddress.replace(/^::ffff:/, '') + '\\n'));
s.listen({ port: Number(process.argv[1]), host: '::' }, () => process.stdout.write('ready\\n'));
`;
const CLIENT = `
const [host, port] = [process.argv[1], Number(process.argv[2])];
const c = require('node:net').connect({ host, port });
let seen = '';
c.on('data', (b) => (seen += b));
c.on('end', () => process.stdout.write(seen));
c.on('error', (e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });
setTimeout(() => { process.stderr.write('no answer in 5 s\\n'); process.exit(1); }, 5000).unref();
`;

export class PeerEcho {
  private constructor(
    readonly ns: Netns,
    readonly port: number,
  ) {}

  /** Starts the service inside `ns` (owned by `lab`, which stops it) and waits until it listens. */
  static async start(lab: Lab, ns: Netns, port: number): Promise<PeerEcho> {
    const child = lab.spawnIn(ns, process.execPath, ['-e', SERVER, String(port)]);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`peer echo in ${ns.name} did not start: ${err}`)), 10_000);
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`peer echo in ${ns.name} exited (${code}): ${err}`));
      });
    });
    return new PeerEcho(ns, port);
  }

  /** Connects from inside `from` to `ip` and returns the source address the service saw. */
  async peerSeenFrom(from: Netns, ip: string): Promise<string> {
    const out = await from.execOk(process.execPath, ['-e', CLIENT, ip, String(this.port)], { timeoutMs: 10_000 });
    return out.trim();
  }
}
