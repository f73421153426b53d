// The host ports of each attachment, kept in a small file beside the kernel's copy so the table
// can be rebuilt when something removes it (`nft flush ruleset`, a firewalld reload): the nft
// elements are the live state, these files the record to restore from (repair.ts). One file per
// attachment under /run/podnet/hostports/netns-<inode>/ (tmpfs: host ports end with the boot,
// as pods do), written atomically, removed by DEL and GC. The netns inode scopes the records to
// the table they describe: the plugin and podnetd both run in the node's netns and find the same
// directory, and nodes that share one filesystem (the lab, tests) never see each other's.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fnv1a64, parseComment } from './owner.js';
import type { Element } from './plan.js';
import type { Profile } from './profile.js';

export const DEFAULT_STATE_DIR = '/run/podnet/hostports';

export interface AttachmentRecord {
  version: 1;
  /** The owner comment of the elements. */
  comment: string;
  profileName: string;
  profile: Profile;
  hairpin4: string[];
  hairpin6: string[];
  elements: Element[];
}

/** The record directory of the netns the calling thread is in. */
export function recordDir(base: string): string {
  return join(base, `netns-${statSync('/proc/thread-self/ns/net').ino}`);
}

function fileOf(dir: string, attachment: string): string {
  return join(dir, `${fnv1a64(attachment)}.json`);
}

export function writeRecord(dir: string, record: AttachmentRecord): void {
  const attachment = parseComment(record.comment)?.attachment ?? record.comment;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = fileOf(dir, attachment);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  renameSync(tmp, file);
}

export function hasRecord(dir: string, attachment: string): boolean {
  return existsSync(fileOf(dir, attachment));
}

export function readRecord(dir: string, attachment: string): AttachmentRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(fileOf(dir, attachment), 'utf8')) as AttachmentRecord;
    return r.version === 1 && Array.isArray(r.elements) ? r : undefined;
  } catch {
    return undefined;
  }
}

export function removeRecord(dir: string, attachment: string): void {
  rmSync(fileOf(dir, attachment), { force: true });
}

/** Every record; unreadable files are skipped (reported through `onBad`). */
export function readRecords(dir: string, onBad?: (file: string, err: unknown) => void): AttachmentRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: AttachmentRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(dir, name), 'utf8')) as AttachmentRecord;
      if (r.version !== 1 || typeof r.comment !== 'string' || !Array.isArray(r.elements)) throw new Error('not a host-port record');
      out.push(r);
    } catch (err) {
      onBad?.(join(dir, name), err);
    }
  }
  return out;
}
