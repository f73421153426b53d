export { parseNetworkConfig } from './config/network-config.js';
export type { NetworkConfig } from './config/network-config.js';
