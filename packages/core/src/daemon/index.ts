// Thick mode: podnetd serves the CNI calls of its node on a unix socket; the executables become
// thin clients (client.ts) and fall back to running the call in-process when no daemon is there.
export { DEFAULT_DAEMON_SOCKET, MAX_REQUEST_BYTES } from './protocol.js';
export type { DaemonRequest, DaemonResponse } from './protocol.js';
export { callDaemon, daemonTarget } from './client.js';
export type { DaemonTarget } from './client.js';
export { CniServer } from './server.js';
export type { CniServerOptions, CniServerStats, ServerLog } from './server.js';
