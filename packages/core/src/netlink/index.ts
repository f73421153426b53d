// rtnetlink over a netlink socket through FFI. Write requests are pure builders returning an
// NlRequest; run one with `sock.request(req)` or several with `sock.batch([...])` (one send()).
// Reads (`getLink`, `listRoutes`…) take the socket and return decoded plain objects.
export { NetlinkSocket } from './socket.js';
export type { NetlinkConn, NetlinkSocketOptions } from './socket.js';
export { NetlinkBatchError, NetlinkError, messageTypeName } from './error.js';
export { Attrs, BodyWriter, decodeMessages, encodeMessage } from './message.js';
export type { NlMessage, NlRequest } from './message.js';
export { decodeDone, decodeError } from './ack.js';
export type { Ack } from './ack.js';
export { formatIp, formatMac, ipFamily, isIp, parseCidr, parseIp, parseMac, tryParseCidr } from './ip.js';
export type { Cidr, IpFamily } from './ip.js';
export {
  bridgeAdd,
  bridgePortSet,
  bridgeSet,
  bridgeVlanAdd,
  bridgeVlanDel,
  decodeLink,
  dummyAdd,
  getLink,
  linkDel,
  linkDelGroup,
  linkDump,
  linkGet,
  linkSet,
  listLinks,
  vethAdd,
  vxlanAdd,
} from './link.js';
export type {
  BridgeOptions,
  BridgePortOptions,
  BridgeSettings,
  BridgeVlan,
  Link,
  LinkChanges,
  LinkCommon,
  LinkFilter,
  LinkRef,
  NetnsTarget,
  VethOptions,
  VxlanOptions,
} from './link.js';
export { nsidGet, nsidOf } from './nsid.js';
export { addressAdd, addressDel, addressDump, addressReplace, decodeAddress, listAddresses } from './address.js';
export type { Address, AddressFilter, AddressOptions } from './address.js';
export { decodeRoute, listRoutes, routeAdd, routeDel, routeDump, routeReplace, routeWhat } from './route.js';
export type { Route, RouteFilter, RouteSpec } from './route.js';
export {
  decodeFdb,
  decodeNeighbour,
  fdbAdd,
  fdbAppend,
  fdbDel,
  fdbDump,
  fdbReplace,
  listFdb,
  listNeighbours,
  neighAdd,
  neighDel,
  neighDump,
  neighReplace,
} from './neigh.js';
export type { FdbEntry, FdbSpec, Neighbour, NeighbourFilter, NeighbourSpec } from './neigh.js';
export {
  IFF_LOWER_UP,
  IFF_PROMISC,
  IFF_UP,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  NUD_REACHABLE,
  RTN_BLACKHOLE,
  RTN_LOCAL,
  RTN_UNICAST,
  RTN_UNREACHABLE,
  RTPROT_BOOT,
  RTPROT_KERNEL,
  RTPROT_STATIC,
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
} from './constants.js';
