// DEL: best-effort and idempotent. Everything is found from (network, containerID, ifname), so
// it needs neither the pod netns nor prevResult: the host veth by its deterministic name (deleting
// it deletes the pod end too), the nft elements by their owner comment, the IPAM allocation by
// owner. Every step runs even when an earlier one fails; missing state is success.
import type { CmdArgs } from '@podnet/core/cni';
import { BestEffort } from './best-effort.js';
import type { BridgePodHalfOptions } from './context.js';
import { openCall } from './context.js';
import { deleteHostVeth } from './host-port.js';
import { hostVethName } from './host-veth.js';

export async function del(options: BridgePodHalfOptions, args: CmdArgs): Promise<void> {
  const call = await openCall(options, args.config, args.args);
  const { cfg, host, ipam, masq } = call;
  const owner = { containerId: args.containerId, ifname: args.ifname };
  const run = new BestEffort('DEL', args.log);
  try {
    // Link first, then rules, then the address (reference #702): the address is released only
    // when nothing on the node still uses it.
    await run.step('delete host veth', () => deleteHostVeth(host, hostVethName(cfg.network, args.containerId, args.ifname)));
    if (cfg.ipMasq) await run.step('remove masquerade', () => masq.removeOwner(owner));
    if (ipam) await run.step(`IPAM DEL (${ipam.type})`, () => ipam.del(args));
  } finally {
    call.close();
  }
  run.finish();
}
