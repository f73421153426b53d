// GC: remove what belongs to attachments the runtime no longer has. Ownership of a host veth is
// its ifalias `podnet:<network>:<containerID>:<ifname>` written at ADD, accepted only when the
// link's name is the hash of that owner (so neither a renamed link nor another network's veth on
// the same bridge is touched). Every part runs; the errors are reported together.
import type { GcArgs } from '@podnet/core/cni';
import { BestEffort } from './best-effort.js';
import type { BridgePodHalfOptions } from './context.js';
import { openCall } from './context.js';
import { DEFAULT_LOCK_DIR, removeStaleAttachmentLocks } from './attachment-lock.js';
import { listPodVeths, removeHostVeth } from './host-port.js';
import { attachmentDigest, ownedByNetwork } from './host-veth.js';

export async function gc(options: BridgePodHalfOptions, args: GcArgs): Promise<void> {
  const call = await openCall(options, args.config, {});
  const { cfg, host, ipam, masq, hostPorts } = call;
  // Attachments are compared by digest: long owners' veths carry only that (host-veth.ts).
  const valid = new Set(args.validAttachments.map((a) => attachmentDigest({ network: cfg.network, containerId: a.containerID, ifname: a.ifname })));
  const run = new BestEffort('GC', args.log);
  try {
    await run.step('list host veths', async () => {
      for (const veth of await listPodVeths(host)) {
        if (!ownedByNetwork(veth.ownership, cfg.network) || valid.has(veth.ownership.digest)) continue;
        const who =
          veth.ownership.form === 'named' ? `${veth.ownership.owner.containerId}/${veth.ownership.owner.ifname}` : `attachment ${veth.ownership.digest}`;
        args.log?.info(`GC: deleting ${veth.name} of ${who}`);
        await run.step(`delete host veth ${veth.name}`, () => removeHostVeth(host, veth, options.linkReaper));
      }
    });
    if (cfg.ipMasq) {
      await run.step('masquerade', () => masq.gc(args.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname }))));
    }
    await run.step('host ports', () =>
      hostPorts.gc(
        cfg.network,
        args.validAttachments.map((a) => ({ containerId: a.containerID, ifname: a.ifname })),
      ),
    );
    if (ipam) await run.step(`IPAM GC (${ipam.type})`, () => ipam.gc(args));
    await run.step('attachment locks', () => removeStaleAttachmentLocks(options.lockDir ?? DEFAULT_LOCK_DIR, cfg.network, valid));
  } finally {
    call.close();
  }
  run.finish();
}
