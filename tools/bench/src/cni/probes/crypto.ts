// Start-up probe: everything of ipam.ts plus node:crypto's createHash (the bridge backend hashes
// host veth and nft table names with it).
import { createHash } from 'node:crypto';
import { pluginMain } from '@podnet/core/cni';
import { allocate } from '@podnet/core/ipam';
import { NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { noopPlugin } from './noop-plugin.js';

void pluginMain(noopPlugin([NetlinkSocket, NetNS, allocate, createHash]));
