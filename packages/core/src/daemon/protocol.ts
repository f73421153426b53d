// The wire between a thin CNI executable and podnetd: one request line, one response line, on a
// unix stream socket. JSON never contains a raw newline (JSON.stringify escapes it), so a line is
// a frame; both sides bound what they read.

/** Default socket path; the conflist key `daemon.socket` overrides it. */
export const DEFAULT_DAEMON_SOCKET = '/run/podnet/cni.sock';

/** Largest request a daemon reads (a conflist with prevResult is a few KB). */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Largest response a client reads (a result, or an error with bounded text, plus stderr). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface DaemonRequest {
  v: 1;
  /** Which pod half (or the IPAM) runs the call: the executable's backend name, e.g. `bridge`, `ipam`. */
  plugin: string;
  /** The CNI_* variables (and PODNET_LOG_LEVEL) of the call. */
  env: Record<string, string>;
  /** The network configuration, as read from stdin. */
  stdin: string;
}

export interface DaemonResponse {
  /** The exit code the executable exits with. */
  exit: number;
  stdout: string;
  stderr: string;
}

/** Environment variables a call forwards to the daemon. */
export function forwardedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && (k.startsWith('CNI_') || k === 'PODNET_LOG_LEVEL')) out[k] = v;
  }
  return out;
}

/** A request line from its text; throws a message for the error response when it is not one. */
export function parseRequest(line: string): DaemonRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('request is not JSON');
  }
  const r = value as Partial<DaemonRequest> | null;
  if (typeof r !== 'object' || r === null || r.v !== 1) throw new Error('request is not a podnet daemon request (v 1)');
  if (typeof r.plugin !== 'string' || r.plugin === '') throw new Error('request has no "plugin"');
  if (typeof r.stdin !== 'string') throw new Error('request has no "stdin"');
  if (typeof r.env !== 'object' || r.env === null || Array.isArray(r.env)) throw new Error('request has no "env"');
  for (const [k, v] of Object.entries(r.env)) {
    if (typeof v !== 'string') throw new Error(`request env ${k} is not a string`);
  }
  return r as DaemonRequest;
}

export function parseResponse(line: string): DaemonResponse | undefined {
  try {
    const r = JSON.parse(line) as Partial<DaemonResponse> | null;
    if (r && typeof r.exit === 'number' && typeof r.stdout === 'string' && typeof r.stderr === 'string') return r as DaemonResponse;
  } catch {
    // not a response
  }
  return undefined;
}
