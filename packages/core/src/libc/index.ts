// libc through FFI: bun:ffi under Bun, koffi under Node, chosen at first use.
export type { LibcBinding } from './binding.js';
export type { PeerCredentials } from './sys.js';
export { libc } from './load.js';
export { LibcError } from './error.js';
export { errnoMessage, errnoName, errnoNumber } from './errno.js';
export {
  AF_NETLINK,
  CLONE_NEWNET,
  EWOULDBLOCK,
  LOCK_EX,
  LOCK_NB,
  LOCK_UN,
  MSG_DONTWAIT,
  MSG_PEEK,
  MSG_TRUNC,
  NS_GET_NSTYPE,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SO_RCVBUF,
  SO_SNDBUF,
  bind,
  close,
  flock,
  getPeerCredentials,
  getsockname,
  ioctl,
  recv,
  send,
  setns,
  setsockoptInt,
  socket,
} from './sys.js';
