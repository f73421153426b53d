// Host ports of attachments: what the bridge pod half (built in) and podnet-portmap (chained) call
// per verb. The table (table.ts) holds the live state; this adds what goes around it: the
// conntrack flush, route_localnet, the record the agent repairs from, and the per-verb logic.
import { existsSync } from 'node:fs';
import { CniError, ErrorCode } from '@podnet/core/cni';
import { flushUdpConntrack } from './conntrack.js';
import { enableRouteLocalnet } from './localnet.js';
import { describeMapping } from './mapping.js';
import type { NftRunner } from './nft.js';
import { attachmentPart, networkPart, parseComment } from './owner.js';
import type { Attachment } from './owner.js';
import { planHostPorts } from './plan.js';
import type { Element, HostPortPlan, HostPortRequest } from './plan.js';
import { DEFAULT_STATE_DIR, hasRecord, readRecord, readRecords, recordDir, removeRecord, writeRecord } from './state.js';
import { applyAdd, dropTableLines, HOSTPORT_TABLE, HostPortTable, profileRules, recordRemovalLines, removeLines } from './table.js';

export interface HostPortsLog {
  warn(msg: string): void;
  info?(msg: string): void;
}

export interface HostPortsOptions {
  nft: NftRunner;
  /** Where each attachment's record lives (state.ts); default /run/podnet/hostports. */
  stateDir?: string;
  /** Run synchronous work in the node's netns (sysctls, the conntrack socket). Default: here. */
  enter?: <T>(fn: () => T) => T;
  log?: HostPortsLog;
}

export class HostPorts {
  readonly table: HostPortTable;
  /** Where this node's records are: `<stateDir>/netns-<inode of the node's netns>`. */
  readonly stateDir: string;
  readonly #enter: <T>(fn: () => T) => T;
  readonly #log: HostPortsLog | undefined;

  constructor(options: HostPortsOptions) {
    this.table = new HostPortTable(options.nft);
    this.#enter = options.enter ?? ((fn) => fn());
    const base = options.stateDir ?? DEFAULT_STATE_DIR;
    this.stateDir = this.#enter(() => recordDir(base));
    this.#log = options.log;
  }

  /** Validate and plan; mappings that fit no family of the pod are logged and skipped (as the reference does). */
  plan(req: HostPortRequest): HostPortPlan {
    if (req.mappings.some((m) => m.protocol === 'sctp')) this.#enter(assertSctp);
    const plan = planHostPorts(req);
    for (const m of plan.skipped) this.#log?.warn(`host port ${describeMapping(m)} skipped: the pod has no address of that family`);
    return plan;
  }

  /** ADD alone (no other nft transaction to share): elements, then what goes around them. */
  async add(plan: HostPortPlan, device: string | undefined): Promise<void> {
    if (plan.elements.length === 0) return;
    await this.apply(plan, [], async () => []);
    try {
      this.finish(plan, device);
    } catch (err) {
      await this.rollback(plan).catch(() => undefined);
      throw err;
    }
  }

  /**
   * The nft part of ADD, sharing one transaction with the caller's own lines (the bridge's
   * masquerade): `fast` with our fast lines; when that fails, `full()` with our full lines. Then
   * the caller pushes its undo (`rollback`) and calls `finish`.
   */
  async apply(plan: HostPortPlan, fast: readonly string[], full: () => Promise<readonly string[]>): Promise<void> {
    // A record means an earlier ADD of this attachment (no DEL since): its elements must go in
    // the same transaction, which only the full path does.
    const again = hasRecord(this.stateDir, parseComment(plan.comment)?.attachment ?? plan.comment);
    await applyAdd(this.table, plan, fast, full, again);
  }

  /**
   * After the elements are in: route_localnet on the pod-facing device (IPv4, with snat), the
   * record, then the UDP conntrack flush (only logged when it fails: the mapping works for new
   * flows either way).
   */
  finish(plan: HostPortPlan, device: string | undefined): void {
    if (plan.elements.length === 0) return;
    if (plan.podV4 && plan.profile.snat && device) this.#enter(() => enableRouteLocalnet(device));
    writeRecord(this.stateDir, {
      version: 1,
      comment: plan.comment,
      profileName: plan.profileName,
      profile: plan.profile,
      hairpin4: plan.hairpin4,
      hairpin6: plan.hairpin6,
      elements: plan.elements,
    });
    if (plan.udpPorts.length > 0) {
      try {
        const families = [...(plan.podV4 ? [4 as const] : []), ...(plan.podV6 ? [6 as const] : [])];
        const n = this.#enter(() => flushUdpConntrack(plan.udpPorts, families));
        if (n > 0) this.#log?.info?.(`flushed ${n} UDP conntrack entries of host ports ${plan.udpPorts.join(', ')}`);
      } catch (err) {
        this.#log?.warn(`UDP conntrack flush for host ports ${plan.udpPorts.join(', ')} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Undo of a successful ADD step: its own elements (by key) and record. */
  async rollback(plan: HostPortPlan): Promise<void> {
    removeRecord(this.stateDir, parseComment(plan.comment)?.attachment ?? plan.comment);
    if (plan.elements.length > 0) await this.table.nft.apply(removeLines(plan.elements).join('\n') + '\n');
  }

  /** The lines that remove an attachment's elements (found by comment, any network), for a shared transaction. */
  async removalLines(owner: Pick<Attachment, 'containerId' | 'ifname'>): Promise<string[]> {
    return removeLines(await this.table.ownedBy(attachmentPart(owner)));
  }

  /** DEL: everything the attachment holds, whatever the runtime sent (or omitted), then its record. */
  async remove(owner: Pick<Attachment, 'containerId' | 'ifname'>): Promise<void> {
    await this.removeWith(owner, [], async () => []);
  }

  /**
   * DEL sharing a transaction with the caller's lines (the bridge's masquerade removal, which
   * always applies). With a record, one transaction deletes the recorded elements by key (the
   * owner set makes the kernel check they are still this attachment's); when that fails (an
   * element gone, or taken over), or without a record, the table is listed and the elements whose
   * comment is the attachment's are removed.
   */
  async removeWith(owner: Pick<Attachment, 'containerId' | 'ifname'>, fast: readonly string[], full: () => Promise<readonly string[]>): Promise<void> {
    const record = readRecord(this.stateDir, attachmentPart(owner));
    if (record && record.elements.length > 0) {
      try {
        await this.table.nft.apply([...fast, ...recordRemovalLines(record.elements)].join('\n') + '\n');
        this.forget(owner);
        return;
      } catch {
        // Something changed since ADD: find the attachment's elements by comment instead.
      }
    }
    const lines = [...(await full()), ...(await this.removalLines(owner))];
    if (lines.length > 0) await this.table.nft.apply(lines.join('\n') + '\n');
    this.forget(owner);
  }

  /**
   * Whether DEL has to look at the table: the attachment has a record (ADD writes it after its
   * elements) or the runtime sent mappings. Saves a DEL without host ports its `nft -j list`; an
   * element whose ADD died before writing the record is GC's (it lists the table).
   */
  mayHold(owner: Pick<Attachment, 'containerId' | 'ifname'>, mappingsSent: boolean): boolean {
    return mappingsSent || hasRecord(this.stateDir, attachmentPart(owner));
  }

  /** Remove the attachment's record (after its elements are gone). */
  forget(owner: Pick<Attachment, 'containerId' | 'ifname'>): void {
    removeRecord(this.stateDir, attachmentPart(owner));
  }

  /** CHECK: the plan's elements, with this owner and target, and the profile's rules are in place. */
  async check(plan: HostPortPlan): Promise<void> {
    const state = await this.table.list();
    if (!state) {
      if (plan.elements.length === 0) return;
      throw new CniError(ErrorCode.Internal, `nft table inet ${HOSTPORT_TABLE} is missing`, `expected the host ports of ${plan.comment}`);
    }
    const have = new Map(state.elements.map((e) => [`${e.set} ${e.key}`, e]));
    for (const e of plan.elements) {
      const got = have.get(`${e.set} ${e.key}`);
      if (!got || got.comment !== plan.comment || got.value !== e.value) {
        throw new CniError(
          ErrorCode.Internal,
          `host port element ${e.set} { ${e.key}${e.value ? ` : ${e.value}` : ''} } of ${plan.comment} ${got ? `differs (${got.comment ?? 'no comment'}${got.value ? ` : ${got.value}` : ''})` : 'is missing'} in nft table inet ${HOSTPORT_TABLE}`,
        );
      }
    }
    if (plan.elements.length === 0) return;
    for (const [chain, rules] of profileRules(plan.profileName, plan.profile)) {
      const n = state.chains.get(chain);
      if (n !== rules.length) {
        throw new CniError(
          ErrorCode.Internal,
          `host-port chain ${chain} in nft table inet ${HOSTPORT_TABLE} ${n === undefined ? 'is missing' : `has ${n} rules, expected ${rules.length}`}`,
        );
      }
    }
  }

  /**
   * GC for one network: remove the elements and records of its attachments not in `valid`; drop
   * the table when no claim of any network is left. Returns the removed elements.
   */
  async gc(network: string, valid: ReadonlyArray<Pick<Attachment, 'containerId' | 'ifname'>>): Promise<Element[]> {
    const net = networkPart(network);
    const keep = new Set(valid.map(attachmentPart));
    const stale = (comment: string | undefined): boolean => {
      const p = parseComment(comment);
      return p !== undefined && p.network === net && !keep.has(p.attachment);
    };
    const state = await this.table.list();
    const gone = state ? state.elements.filter((e) => stale(e.comment)) : [];
    if (state) {
      const left = state.elements.filter((e) => e.set.startsWith('claims') && !stale(e.comment));
      const lines = left.length === 0 ? dropTableLines() : removeLines(gone);
      if (lines.length > 0) await this.table.nft.apply(lines.join('\n') + '\n');
    }
    for (const r of readRecords(this.stateDir)) {
      if (stale(r.comment)) removeRecord(this.stateDir, parseComment(r.comment)!.attachment);
    }
    return gone;
  }
}

/** `sctp` mappings need conntrack's SCTP support (CONFIG_NF_CT_PROTO_SCTP) to be DNATed. */
function assertSctp(): void {
  // No conntrack loaded yet: nothing to tell (the nat table loads it; built-in on Debian kernels).
  if (!existsSync('/proc/sys/net/netfilter/nf_conntrack_max')) return;
  if (existsSync('/proc/sys/net/netfilter/nf_conntrack_sctp_timeout_established')) return;
  throw new CniError(
    ErrorCode.InvalidConfig,
    'sctp host ports are not supported by this kernel',
    'connection tracking has no SCTP support (CONFIG_NF_CT_PROTO_SCTP; /proc/sys/net/netfilter/nf_conntrack_sctp_timeout_established is missing); use tcp or udp, or a kernel with SCTP conntrack',
  );
}
