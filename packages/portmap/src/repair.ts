// Put the host-port table back from the attachments' records (state.ts) when something removed
// all or part of it: `nft flush ruleset`, a firewalld reload, a hand-deleted chain. Meant for
// podnetd's reconcile loop: one `nft -j list` when everything is in place, one transaction more
// when not. Never takes a host port from another holder: a key that exists with another owner is
// reported and left alone.
import type { NftRunner } from './nft.js';
import type { Element } from './plan.js';
import type { Profile } from './profile.js';
import { DEFAULT_STATE_DIR, readRecords, recordDir } from './state.js';
import { declareLines, elementText, hairpinLines, hairpinStamp, HOSTPORT_TABLE, parseTable, profileRules } from './table.js';

export interface RepairOptions {
  nft: NftRunner;
  stateDir?: string;
  /** Run synchronous work in the node's netns (where the table is); default: here. */
  enter?: <T>(fn: () => T) => T;
}

export interface RepairReport {
  /** A transaction ran. */
  repaired: boolean;
  /** What was missing (chains, stamps, elements), for the log. */
  missing: string[];
  /** Elements restored. */
  restored: number;
  /** Elements whose key another attachment holds now: left alone. */
  conflicts: Element[];
  /** Records that could not be read. */
  badRecords: string[];
}

export async function repairHostPorts(options: RepairOptions): Promise<RepairReport> {
  const badRecords: string[] = [];
  const dir = (options.enter ?? ((fn) => fn()))(() => recordDir(options.stateDir ?? DEFAULT_STATE_DIR));
  const records = readRecords(dir, (file) => badRecords.push(file));
  const report: RepairReport = { repaired: false, missing: [], restored: 0, conflicts: [], badRecords };
  if (records.length === 0) return report;
  const json = await options.nft.listJson(`list table inet ${HOSTPORT_TABLE}`);
  const state = json === undefined ? undefined : parseTable(json);
  if (!state) report.missing.push(`table inet ${HOSTPORT_TABLE}`);

  const profiles = new Map<string, Profile>();
  for (const r of records) profiles.set(r.profileName, r.profile);
  for (const [name, p] of profiles) {
    for (const [chain, rules] of profileRules(name, p)) {
      if (state && state.chains.get(chain) !== rules.length) report.missing.push(`chain ${chain}`);
    }
  }
  const stamps: string[] = [];
  for (const r of records) {
    const stamp = hairpinStamp(r);
    if (stamp && !stamps.includes(stamp)) {
      stamps.push(stamp);
      if (state && !state.sets.has(stamp)) report.missing.push(`set ${stamp}`);
    }
  }
  const have = new Map((state?.elements ?? []).map((e) => [`${e.set} ${e.key}`, e]));
  const add: Element[] = [];
  for (const r of records) {
    for (const e of r.elements) {
      const got = have.get(`${e.set} ${e.key}`);
      if (!got) add.push(e);
      else if (got.comment !== e.comment) report.conflicts.push(e);
    }
  }
  if (state && add.length > 0) report.missing.push(`${add.length} elements`);
  if (report.missing.length === 0) return report;

  const lines = declareLines(profiles);
  for (const r of records) lines.push(...hairpinLines(r));
  for (const e of add) lines.push(`add element inet ${HOSTPORT_TABLE} ${e.set} { ${elementText(e)} }`);
  await options.nft.apply(lines.join('\n') + '\n');
  report.repaired = true;
  report.restored = add.length;
  return report;
}
