// @podnet/agent: the agent's services, for tests and for a later podnetd that also serves CNI.
export { Agent, clusterNetworks } from './agent.js';
export type { AgentDeps, AgentStatus } from './agent.js';
export { buildCli } from './cli.js';
export { resolveOptions, readConfigFile } from './options.js';
export type { AgentOptions, RawOptions } from './options.js';
export { teardown } from './teardown.js';
