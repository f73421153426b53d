// `<executable> repair --config <file>`: the operator's command behind the IPAM repair (see the
// IPAM repair section of core's README). Run by hand on the node, in the node's netns, never by a
// runtime (runtimes pass CNI_COMMAND and no arguments). This file holds what every executable's
// repair shares: the arguments, the config file (a network config or a conflist), the report;
// `podnet-ipam repair` is the IPAM-only form (LevelDB repair and consistency, no live-pod check).
import { readFileSync } from 'node:fs';
import { parseNetConf, toCniError } from '../cni/index.js';
import type { NetConf } from '../cni/index.js';
import { parseStoreLocation, repair } from '../ipam/index.js';
import type { RepairReport } from '../ipam/index.js';
import { flockStoreLock } from './store-lock.js';
import { IPAM_TYPE } from './plugin.js';

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Exit codes: done; refused or failed; repaired, but something needs the operator's eyes. */
export const RepairExit = { Ok: 0, Failed: 1, Usage: 2, Attention: 3 } as const;

export class UsageError extends Error {}

/** `--config <file>` (or `--config=<file>`); nothing else. */
export function parseRepairArgs(argv: readonly string[]): { config: string } {
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--config') config = argv[++i];
    else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (config === undefined || config === '') throw new UsageError('missing --config <network config file>');
  return { config };
}

/**
 * The network config in `file`: a plugin config, or a conflist from which the first plugin that
 * `pick` accepts is taken, with the list's name and cniVersion (as libcni hands it to the plugin).
 */
export function loadNetworkConfig(file: string, pick: (plugin: Record<string, unknown>) => boolean): NetConf {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --config ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = value as { plugins?: unknown; name?: unknown; cniVersion?: unknown } | null;
  if (list !== null && typeof list === 'object' && Array.isArray(list.plugins)) {
    const plugin = (list.plugins as unknown[]).find(
      (p): p is Record<string, unknown> => typeof p === 'object' && p !== null && pick(p as Record<string, unknown>),
    );
    if (plugin === undefined) throw new UsageError(`--config ${file}: no plugin of this executable in the conflist`);
    value = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  }
  return parseNetConf(JSON.stringify(value), 'DEL');
}

/** A conflist entry this IPAM serves: `podnet-ipam` itself, or any plugin delegating to it. */
export function usesPodnetIpam(plugin: Record<string, unknown>): boolean {
  const ipam = plugin['ipam'] as { type?: unknown } | undefined;
  return plugin['type'] === IPAM_TYPE || ipam?.type === IPAM_TYPE;
}

/** The report as JSON-friendly data (maps become lists). */
export function reportJson(report: RepairReport, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    store: report.path,
    found: report.found,
    leveldbRepaired: report.leveldbRepaired,
    lostFiles: report.lostFiles,
    entries: report.entries,
    liveChecked: report.liveChecked,
    relinked: report.plan.relinked.map((r) => ({ address: r.address, owner: r.owner })),
    stale: report.plan.stale,
    restored: report.plan.restored,
    released: report.plan.released.map((r) => ({ address: r.address, owner: r.owner })),
    conflicts: report.plan.conflicts,
    ...extra,
  };
}

/** The lines an operator reads on stderr. */
export function reportLines(report: RepairReport): string[] {
  const lines = [`repair: ${report.path}: ${report.found === 'lost-current' ? 'store without CURRENT' : report.found}`];
  if (report.leveldbRepaired) lines.push(`repair: LevelDB repair done; ${report.entries} entries read back`);
  if (report.lostFiles.length > 0) lines.push(`repair: unreadable files moved to ${report.path}/lost: ${report.lostFiles.join(', ')} (their entries are gone)`);
  for (const r of report.plan.relinked) lines.push(`repair: re-linked ${r.address} to ${r.owner.containerId}/${r.owner.ifname}`);
  for (const s of report.plan.stale)
    lines.push(`repair: dropped ${s.address} from ${s.listedBy.containerId}/${s.listedBy.ifname} (held by ${s.heldBy.containerId}/${s.heldBy.ifname})`);
  for (const r of report.plan.restored) lines.push(`repair: recorded ${r.address} for live pod ${r.owner.containerId}/${r.owner.ifname}`);
  for (const r of report.plan.released)
    lines.push(`repair: released ${r.address} of ${r.owner.containerId}/${r.owner.ifname} (placeholder of a pod that is gone)`);
  for (const c of report.plan.conflicts) {
    lines.push(`repair: CONFLICT ${c.address}: live pod ${c.live.containerId}/${c.live.ifname} vs ${c.other.containerId}/${c.other.ifname}: ${c.reason}`);
  }
  return lines;
}

/** `podnet-ipam repair --config <file>`. Returns the exit code. */
export async function ipamRepairMain(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  try {
    const conf = loadNetworkConfig(parseRepairArgs(argv).config, usesPodnetIpam);
    const report = await repair(parseStoreLocation(conf), { lock: flockStoreLock });
    for (const line of reportLines(report)) io.stderr(`${line}\n`);
    io.stderr(
      'repair: the live-pod check was NOT done: podnet-ipam cannot see the pods. An address whose entry was lost may be handed out again while a pod uses it; run the repair of the backend executable (e.g. podnet-bridge repair --config <file>) where a podnet backend serves this network\n',
    );
    io.stdout(`${JSON.stringify(reportJson(report))}\n`);
    return report.plan.conflicts.length > 0 ? RepairExit.Attention : RepairExit.Ok;
  } catch (err) {
    return failed(io, err);
  }
}

/** Prints a failure (usage or the CNI-style error) and returns its exit code. */
export function failed(io: CommandIo, err: unknown): number {
  if (err instanceof UsageError) {
    io.stderr(`repair: ${err.message}\nusage: repair --config <network config or conflist file>\n`);
    return RepairExit.Usage;
  }
  const e = toCniError(err);
  io.stderr(`repair: ${e.msg}${e.details ? `: ${e.details}` : ''}\n`);
  io.stdout(`${JSON.stringify({ code: e.code, msg: e.msg, details: e.details })}\n`);
  return RepairExit.Failed;
}
