// nftables without a process: libnftables through FFI (optional; callers fall back to `nft`).
export { loadNftables } from './library.js';
export type { NftContext, NftResult } from './library.js';
