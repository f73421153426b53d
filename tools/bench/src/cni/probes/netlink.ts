// Start-up probe: the skel plus core's netlink and netns modules (libc through bun:ffi).
import { pluginMain } from '@podnet/core/cni';
import { NetlinkSocket } from '@podnet/core/netlink';
import { NetNS } from '@podnet/core/netns';
import { noopPlugin } from './noop-plugin.js';

void pluginMain(noopPlugin([NetlinkSocket, NetNS]));
