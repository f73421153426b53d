// Start-up probe: the skel, netlink and netns, plus core's IPAM (LevelDB: the classic-level addon).
import { pluginMain } from '@podnet/core/cni';
import { allocate } from '@podnet/core/ipam';
import { NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { noopPlugin } from './noop-plugin.js';

void pluginMain(noopPlugin([NetlinkSocket, NetNS, allocate]));
