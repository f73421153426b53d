// @podnet/lab: network-namespace nodes and pods for e2e tests and the demo.
export { run, runOk } from './exec.js';
export type { RunOptions, RunResult } from './exec.js';
export { Netns, createNetns, deleteNetns, listNetns, netnsExists, sweepNetns } from './netns.js';
export { Lab, LabNode, LabPod } from './lab.js';
export type { LabOptions } from './lab.js';
export { invokeCni, cniEnvironment, cniError, cniOk } from './cni.js';
export type { CniCommand, CniInvocation, CniOutcome, CniErrorOutput } from './cni.js';
export { links, link, addresses, routes, nftTables, nftRuleset, sysctl, mentionsAddress } from './kernel.js';
export type { KernelLink, KernelAddress, KernelRoute } from './kernel.js';
export { ping, PeerEcho } from './probe.js';
export { repoRoot, executable } from './binaries.js';
