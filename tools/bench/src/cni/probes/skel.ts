// Start-up probe: core's CNI skel (env, stdin, VERSION answer, exit) with a plugin that does nothing.
import { pluginMain } from '@podnet/core/cni';
import { noopPlugin } from './noop-plugin.js';

void pluginMain(noopPlugin());
