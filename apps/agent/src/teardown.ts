// `podnetd teardown`: remove everything the agent installed on this node — the backend's
// entries (its node half's teardown), every route of podnet's rtm_protocol in any table, the
// nftables tables, the lease file — and with `release`, give the subnet back to the store.
// Each step runs even when an earlier one failed; the errors are reported together.
import { rmSync } from 'node:fs';
import { nftBinary } from '@podnet/backend-bridge';
import type { NftRunner } from '@podnet/backend-bridge';
import { readLeaseFile } from '@podnet/cluster/lease-file';
import type { LeaseStore } from '@podnet/cluster';
import { PODNET_ROUTE_PROTOCOL } from '@podnet/core/backend';
import { NetlinkSocket } from '@podnet/core/netlink';
import { reconcileRoutes } from '@podnet/core/route';
import { BACKENDS, nodeHalfFor } from './backends.js';
import type { BackendRegistry } from './backends.js';
import type { Logger } from './logger.js';
import { removeForwardAccept } from './forward-accept.js';
import { removeNatRules } from './masquerade.js';
import type { AgentOptions } from './options.js';
import { openStore } from './store.js';
import { findUnderlay, underlayQuery } from './underlay.js';

export interface TeardownOptions {
  release: boolean;
  backends?: BackendRegistry;
  nft?: NftRunner;
  openStore?: (options: AgentOptions) => Promise<LeaseStore>;
}

export interface TeardownResult {
  routesDeleted: number;
  released: boolean;
  errors: string[];
}

export async function teardown(o: AgentOptions, log: Logger, t: TeardownOptions): Promise<TeardownResult> {
  const errors: string[] = [];
  const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      errors.push(`${what}: ${(error as Error).message}`);
      log.error({ err: error }, `teardown: ${what} failed`);
    }
  };
  let backendType: string | undefined;
  let node = o.node;
  try {
    const file = readLeaseFile(o.leaseFile);
    backendType = file.backend;
    node = file.node;
  } catch (error) {
    log.info(
      { path: o.leaseFile, reason: (error as Error).message },
      'teardown: no usable lease file; removing routes of our protocol and the nft tables only',
    );
  }

  if (backendType !== undefined) {
    const type = backendType;
    await step(`${type} node half teardown`, async () => {
      const factory = await nodeHalfFor(type, t.backends ?? BACKENDS);
      const sock = NetlinkSocket.open();
      let underlay;
      try {
        underlay = findUnderlay(sock, underlayQuery(o));
      } finally {
        sock.close();
      }
      // The lease file names the backend but not its options; a teardown needs none of them.
      const half = factory.create({
        node,
        backend: { Type: type },
        underlay: { name: underlay.name, index: underlay.index, mtu: underlay.mtu, addresses: underlay.addresses },
        routeProtocol: PODNET_ROUTE_PROTOCOL,
        log: (level, message, fields) => log[level](fields ?? {}, message),
      });
      try {
        await half.teardown();
      } finally {
        half.close();
      }
    });
  }

  let routesDeleted = 0;
  await step(`routes of protocol ${PODNET_ROUTE_PROTOCOL}`, () => {
    const sock = NetlinkSocket.open();
    try {
      const result = reconcileRoutes(sock, [], { protocol: PODNET_ROUTE_PROTOCOL });
      routesDeleted = result.deleted.length;
      for (const f of result.failed) errors.push(f.error.message);
    } finally {
      sock.close();
    }
  });
  await step('nftables tables ip/ip6 podnet', () => removeNatRules(t.nft ?? nftBinary()));
  await step('FORWARD accept rules', async () => void (await removeForwardAccept()));

  let released = false;
  if (t.release) {
    await step(`release of the lease of ${node}`, async () => {
      const store = await (t.openStore ?? openStore)(o);
      try {
        const { leases } = await store.list();
        const mine = leases.find((l) => l.node === node);
        if (mine) {
          await store.release(mine);
          released = true;
        } else {
          log.info({ node }, 'teardown: no live lease to release');
        }
      } finally {
        await store.close();
      }
    });
  }
  await step(`lease file ${o.leaseFile}`, () => rmSync(o.leaseFile, { force: true }));
  log.info({ routesDeleted, released, errors: errors.length }, 'teardown done');
  return { routesDeleted, released, errors };
}
