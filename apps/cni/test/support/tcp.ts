// Reading what a TCP server sends, from the test process (the host namespace): the runtime suites'
// containers answer each connection with a greeting and close.
import { connect } from 'node:net';

/** Everything ip:port sends until it closes; rejects after 5 s without the end. */
export function readFromHost(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port });
    let data = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no answer from ${ip}:${port} in 5 s`)));
    socket.on('data', (b) => (data += b.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
