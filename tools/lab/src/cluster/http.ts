// HTTP GET from inside a namespace: an agent listens on its node's loopback, which only a process
// in that namespace can reach. A one-shot Node process there does the request (no curl needed).
import { Netns } from '../netns.js';

export interface HttpAnswer {
  /** 0 when nothing answered (connection refused, timeout). */
  status: number;
  body: string;
}

const GET = `
const ctl = AbortSignal.timeout(Number(process.argv[2]));
fetch(process.argv[1], { signal: ctl })
  .then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))
  .catch((e) => process.stdout.write(JSON.stringify({ status: 0, body: String(e.cause?.code ?? e.message) })));
`;

export async function httpGetIn(netns: string, url: string, timeoutMs = 2_000): Promise<HttpAnswer> {
  const r = await new Netns(netns).exec(process.execPath, ['-e', GET, url, String(timeoutMs)], { timeoutMs: timeoutMs + 5_000 });
  try {
    return JSON.parse(r.stdout) as HttpAnswer;
  } catch {
    return { status: 0, body: r.stderr.trim() || `exit ${r.code}` };
  }
}
