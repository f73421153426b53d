// DEL: best-effort and idempotent. Everything is found from (network, containerID, ifname), so
// it needs neither the pod netns nor prevResult: the host veth by its deterministic name (deleting
// it deletes the pod end too), the nft elements by their owner comment, the IPAM allocation by
// owner. Every step runs even when an earlier one fails; missing state is success.
import type { CmdArgs } from '@podnet/core/cni';
import type { HeldLock } from '@podnet/core/lock';
import { BestEffort } from './best-effort.js';
import type { BridgePodHalfOptions } from './context.js';
import { DEFAULT_LOCK_DIR, RELEASE, lockAttachment } from './attachment-lock.js';
import { openCall } from './context.js';
import { removeOwnedHostVeth } from './host-port.js';
import { hostVethName } from './host-veth.js';

export async function del(options: BridgePodHalfOptions, args: CmdArgs): Promise<void> {
  const call = await openCall(options, args.config, args.args, args.log);
  const { cfg, host, ipam, masq, hostPorts } = call;
  const owner = { containerId: args.containerId, ifname: args.ifname };
  const attachment = { network: cfg.network, ...owner };
  const run = new BestEffort('DEL', args.log);
  let lock: HeldLock | undefined;
  try {
    // Serialized with ADD and CHECK of the same attachment (attachment-lock.ts).
    lock = await lockAttachment(options.lockDir ?? DEFAULT_LOCK_DIR, attachment);
    // Link first, then rules, then the address (reference #702): the address is released only
    // when nothing on the node still uses it.
    const name = hostVethName(cfg.network, args.containerId, args.ifname);
    await run.step('delete host veth', async () => {
      // A link with our name that podnet did not create is never deleted; the attachment's own
      // state (rules, address) still goes.
      if ((await removeOwnedHostVeth(host, name, attachment, options.linkReaper)) === 'foreign')
        args.log?.warn(`DEL: left link ${name} alone: it is not podnet's (no matching owner alias)`);
    });
    // Host ports whatever the runtime sent: found by owner comment, so a DEL without
    // runtimeConfig (or after the network was renamed) still removes them. One transaction with
    // the masquerade elements.
    const ports = hostPorts.mayHold(owner, cfg.portMappings.length > 0);
    if (cfg.ipMasq || ports)
      await run.step(ports ? 'remove masquerade and host ports' : 'remove masquerade', async () => {
        const masqLines = cfg.ipMasq ? masq.removalLines(await masq.ownerAddresses(owner)) : [];
        if (ports) await hostPorts.removeWith(owner, masqLines, async () => masqLines);
        else if (masqLines.length > 0) await hostPorts.table.nft.apply(masqLines.join('\n') + '\n');
      });
    if (ipam) await run.step(`IPAM DEL (${ipam.type})`, () => ipam.del(args));
  } finally {
    call.close();
    // The lock file exists only while a call runs (attachment-lock.ts).
    lock?.release(RELEASE);
  }
  run.finish();
}
