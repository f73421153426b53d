// @podnet/backend-bridge: pods on a Linux bridge. `backend` is what the CNI app selects at build
// time; the building blocks below are what host-gw and VXLAN reuse for their pod half.
import type { Backend } from '@podnet/core/backend';
import { createBridgePodHalf } from './pod-half.js';
import { bridgeRepairMain } from './repair.js';

export const backend = { name: 'bridge', pod: createBridgePodHalf() } satisfies Backend;

/**
 * Operator commands of the executable (`podnet-bridge <command> …`, never run by a runtime): the
 * CNI app's generated entry runs `commands[argv[2]]` when there is one (apps/cni/scripts/entries.ts).
 */
export const commands: Readonly<Record<string, (argv: readonly string[]) => Promise<number>>> = {
  repair: (argv) => bridgeRepairMain(argv, 'podnet-bridge'),
};
export { bridgeRepairMain, candidateNetnsFiles, findLivePods, repairNetwork, NETNS_DIRS } from './repair.js';
export type { BridgeRepairResult, LivePods, UnresolvedVeth } from './repair.js';

export { createBridgePodHalf } from './pod-half.js';
export type { BridgePodHalfOptions } from './context.js';
export { parseBridgeConfig } from './config.js';
export type { BridgeConfig, ParseOptions } from './config.js';
export { attachmentDigest, hostVethName, networkDigest, ownedBy, ownedByNetwork, ownerAlias, parseOwnerAlias, parseOwnership } from './host-veth.js';
export type { VethOwner, VethOwnership } from './host-veth.js';
export { Masquerade, masqTableName, ownerComment } from './masquerade.js';
export type { MasqEntry, MasqOwner } from './masquerade.js';
export { nftBinary, nftLibrary, nftRunner } from './nft.js';
export { LinkReaper, REAP_GROUP, deleteGroupInChild } from './link-reaper.js';
export type { GroupDeleter, LinkReaperOptions } from './link-reaper.js';
export type { Enter, NftRunner } from './nft.js';
export { BUILTIN_IPAM_TYPE } from './ipam.js';
