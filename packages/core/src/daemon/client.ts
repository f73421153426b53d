// The thin-client half of an executable: hand the whole call to podnetd when it serves this node,
// or say that it does not, so the executable runs the call in-process as before.
//
// Fallback rules (never both: the IPAM store has one writer): no socket file, or a socket nobody
// listens on (ECONNREFUSED: the daemon died, and with it its store lock), means "no daemon" → the
// call runs in-process. A daemon that accepts but does not answer in time is code 11 naming the
// socket and the wait — never a hang, and never a second writer next to a live daemon.
//
// Under Bun (the compiled executables) the socket is Bun.connect: node:net costs ~3 ms of start-up
// in a compiled plugin. Under Node (tests) node:net is loaded on first use.
import { CniError, ErrorCode } from '../cni/errors.js';
import { DEFAULT_DAEMON_SOCKET, MAX_RESPONSE_BYTES, forwardedEnv, parseResponse } from './protocol.js';
import type { DaemonRequest, DaemonResponse } from './protocol.js';

/** Where the daemon is and how long to wait, from the conflist's `daemon` key. */
export interface DaemonTarget {
  socket: string;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
}

const DEFAULT_CONNECT_MS = 1_000;
const DEFAULT_REPLY_MS = 60_000;

/**
 * The daemon target of a call, or undefined when the config turns thick mode off
 * (`"daemon": false`) or cannot be read (the in-process skel then reports the decode error).
 * `"daemon": {"socket": "…", "timeoutMs": N}`; absent: the default socket, 60 s.
 */
export function daemonTarget(stdin: string): DaemonTarget | undefined {
  let conf: { daemon?: unknown } | null;
  try {
    conf = JSON.parse(stdin) as { daemon?: unknown } | null;
  } catch {
    return undefined;
  }
  if (typeof conf !== 'object' || conf === null) return undefined;
  const d = conf.daemon;
  if (d === undefined || d === true) return { socket: DEFAULT_DAEMON_SOCKET, connectTimeoutMs: DEFAULT_CONNECT_MS, replyTimeoutMs: DEFAULT_REPLY_MS };
  if (typeof d !== 'object' || d === null) return undefined; // false, or a bad value the skel reports
  const o = d as { socket?: unknown; timeoutMs?: unknown };
  if (o.socket !== undefined && (typeof o.socket !== 'string' || !o.socket.startsWith('/'))) return undefined;
  if (o.timeoutMs !== undefined && (typeof o.timeoutMs !== 'number' || !(o.timeoutMs > 0))) return undefined;
  return {
    socket: o.socket ?? DEFAULT_DAEMON_SOCKET,
    connectTimeoutMs: Math.min(DEFAULT_CONNECT_MS, o.timeoutMs ?? DEFAULT_CONNECT_MS),
    replyTimeoutMs: o.timeoutMs ?? DEFAULT_REPLY_MS,
  };
}

type Exchange = { kind: 'reply'; line: string } | { kind: 'absent' } | { kind: 'failed'; why: string };

const ABSENT = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK']);

function errorCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

interface BunLike {
  connect(options: {
    unix: string;
    socket: {
      open?(s: BunSocket): void;
      data(s: BunSocket, d: Uint8Array): void;
      drain?(s: BunSocket): void;
      close(s: BunSocket): void;
      error(s: BunSocket, e: Error): void;
    };
  }): Promise<BunSocket>;
}
interface BunSocket {
  write(data: string | Uint8Array): number;
  end(): void;
}

function collector(resolve: (e: Exchange) => void): { push(d: Uint8Array): void; end(): void } {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(d) {
      const b = Buffer.from(d);
      chunks.push(b);
      size += b.length;
      if (size > MAX_RESPONSE_BYTES) resolve({ kind: 'failed', why: `reply larger than ${MAX_RESPONSE_BYTES} bytes` });
      else if (b.includes(10)) {
        const all = Buffer.concat(chunks).toString('utf8');
        resolve({ kind: 'reply', line: all.slice(0, all.indexOf('\n')) });
      }
    },
    end() {
      resolve({ kind: 'failed', why: 'the daemon closed the connection without an answer' });
    },
  };
}

async function exchangeBun(bun: BunLike, path: string, line: string, target: DaemonTarget): Promise<Exchange> {
  let settle!: (e: Exchange) => void;
  const result = new Promise<Exchange>((r) => (settle = r));
  const got = collector((e) => settle(e));
  let pending = Buffer.from(line);
  const flush = (s: BunSocket): void => {
    if (pending.length === 0) return;
    const n = s.write(pending);
    pending = pending.subarray(Math.max(0, n));
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connectDeadline = new Promise<Exchange>((r) => {
    timer = setTimeout(() => r({ kind: 'failed', why: `no connection within ${target.connectTimeoutMs} ms` }), target.connectTimeoutMs);
  });
  const connecting = bun
    .connect({
      unix: path,
      socket: {
        open: flush,
        drain: flush,
        data: (_s, d) => got.push(d),
        close: () => got.end(),
        error: (_s, e) => settle({ kind: 'failed', why: e.message }),
      },
    })
    .then(
      (s) => ({ kind: 'connected' as const, s }),
      (err: unknown) => (ABSENT.has(errorCode(err) ?? '') ? ({ kind: 'absent' } as const) : ({ kind: 'failed', why: (err as Error).message } as const)),
    );
  const first = await Promise.race([connecting, connectDeadline]);
  clearTimeout(timer);
  if (first.kind !== 'connected') return first;
  const socket = first.s;
  const replyDeadline = new Promise<Exchange>((r) => {
    timer = setTimeout(() => r({ kind: 'failed', why: `no answer within ${target.replyTimeoutMs} ms` }), target.replyTimeoutMs);
  });
  const outcome = await Promise.race([result, replyDeadline]);
  clearTimeout(timer);
  socket.end();
  return outcome;
}

async function exchangeNode(path: string, line: string, target: DaemonTarget): Promise<Exchange> {
  const net = await import('node:net');
  return new Promise<Exchange>((resolve) => {
    let connected = false;
    let done = false;
    const socket = net.createConnection({ path });
    const finish = (e: Exchange): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(e);
    };
    const got = collector(finish);
    let timer = setTimeout(() => finish({ kind: 'failed', why: `no connection within ${target.connectTimeoutMs} ms` }), target.connectTimeoutMs);
    socket.on('connect', () => {
      connected = true;
      clearTimeout(timer);
      timer = setTimeout(() => finish({ kind: 'failed', why: `no answer within ${target.replyTimeoutMs} ms` }), target.replyTimeoutMs);
      socket.write(line);
    });
    socket.on('data', (d) => got.push(d));
    socket.on('end', () => got.end());
    socket.on('error', (err) => {
      if (!connected && ABSENT.has(errorCode(err) ?? '')) finish({ kind: 'absent' });
      else finish({ kind: 'failed', why: err.message });
    });
  });
}

/**
 * Hand the call to the daemon. Resolves to its response, or undefined when no daemon serves this
 * node (run in-process). A daemon that is there but fails to answer is a code 11 response.
 */
export async function callDaemon(
  plugin: string,
  env: Readonly<Record<string, string | undefined>>,
  stdin: string,
  target: DaemonTarget,
): Promise<DaemonResponse | undefined> {
  const request: DaemonRequest = { v: 1, plugin, env: forwardedEnv(env), stdin };
  const line = `${JSON.stringify(request)}\n`;
  const bun = (globalThis as { Bun?: BunLike }).Bun;
  const exchange = bun ? await exchangeBun(bun, target.socket, line, target) : await exchangeNode(target.socket, line, target);
  if (exchange.kind === 'absent') return undefined;
  if (exchange.kind === 'reply') {
    const response = parseResponse(exchange.line);
    if (response) return response;
    return errorResponse(
      stdin,
      new CniError(ErrorCode.TryAgainLater, `podnetd at ${target.socket} sent an answer that is not one`, "is the socket podnetd's?"),
    );
  }
  return errorResponse(
    stdin,
    new CniError(
      ErrorCode.TryAgainLater,
      `podnetd at ${target.socket} did not answer: ${exchange.why}`,
      'the daemon is alive but busy or stuck; the call was not run in-process (one writer per IPAM store)',
    ),
  );
}

function errorResponse(stdin: string, err: CniError): DaemonResponse {
  let cniVersion = '1.1.0';
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string') cniVersion = v;
  } catch {
    // keep the default
  }
  return { exit: 1, stdout: `${JSON.stringify(err.toJSON(cniVersion))}\n`, stderr: `podnet: ${err.message}\n` };
}
