// The in-process IPAM behind `ipam.type: "podnet-ipam"`: core's IPAM library called directly, as a
// CNI Plugin, so the bridge needs no second process for addresses. A minimal adapter: when core
// ships its own IPAM plugin object (the one `podnet-ipam` the executable runs), use that instead.
import { allocate, check, gc, parseIpamConfig, parseStoreLocation, release, status } from '@podnet/core/ipam';
import type { CmdArgs, Plugin, Result } from '@podnet/core/cni';

const owner = (args: CmdArgs) => ({ containerId: args.containerId, ifname: args.ifname });

export const builtinIpam: Plugin = {
  async add(args) {
    const result = await allocate(parseIpamConfig(args.config, args.args), owner(args));
    const out: Result = {
      cniVersion: args.config.cniVersion,
      ips: result.ips.map((ip) => ({ address: ip.address, gateway: ip.gateway })),
    };
    if (result.routes.length > 0) out.routes = result.routes.map((r) => ({ ...r }));
    if (result.dns) out.dns = { ...result.dns };
    return out;
  },
  async del(args) {
    await release(parseStoreLocation(args.config), owner(args));
  },
  async check(args) {
    // prevResult's addresses of this interface are what the owner must hold, exactly.
    const prev = args.config.prevResult;
    const index = prev?.interfaces?.findIndex((i) => i.name === args.ifname && i.sandbox);
    const expected = prev?.ips?.filter((ip) => ip.interface === undefined || ip.interface === index).map((ip) => ip.address);
    await check(parseStoreLocation(args.config), owner(args), expected);
  },
  async gc(args) {
    await gc(
      parseStoreLocation(args.config),
      args.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
    );
  },
  async status(args) {
    await status(parseStoreLocation(args.config));
  },
};
