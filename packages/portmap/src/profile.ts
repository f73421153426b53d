// A profile: how a group of mappings is NATed — the reference portmap's `snat`, `masqAll`,
// `markMasqBit` and `conditionsV4/V6`. Mappings of one profile share four maps and three chains,
// all named after the profile (its digest), so networks with different settings coexist in the
// one node-wide table without their rules touching each other (the reference's nft backend
// rebuilds its entry chains with the last ADD's conditions: "last ADD wins").
import { CniError, ErrorCode, showValue } from '@podnet/core/cni';
import { fnv1a64 } from './owner.js';

export interface Profile {
  /** Masquerade hairpin (pod → its own or a neighbour's host port) and 127.0.0.1 traffic. */
  snat: boolean;
  /** Masquerade every DNATed connection, whatever its source. */
  masqAll: boolean;
  /** The packet mark bit that tells postrouting to masquerade (reference default 13 = 0x2000). */
  markBit: number;
  /** nft match expressions put before every DNAT of that family (e.g. "iifname != \"lo\""). */
  conditionsV4: string[];
  conditionsV6: string[];
}

export const DEFAULT_PROFILE: Profile = { snat: true, masqAll: false, markBit: 13, conditionsV4: [], conditionsV6: [] };

/** Part of every profile name: a change of the rules below gives new names (old ones drain). */
const LAYOUT = 'podnet-hostports-v1';

export function profileName(p: Profile): string {
  return `p${fnv1a64(JSON.stringify([LAYOUT, p.snat, p.masqAll, p.markBit, p.conditionsV4, p.conditionsV6])).slice(0, 12)}`;
}

/**
 * A condition is one nft match expression. It is spliced into a script, so only characters of
 * nft match syntax are allowed: never `;`, `#`, quotes' partner escapes or newlines, which could
 * end the rule and start another command.
 */
const CONDITION = /^[a-zA-Z0-9 _.:/!=<>{},@&|^*+\-"[\]]+$/;

export function checkConditions(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((c) => typeof c === 'string')) throw invalid(field, value, 'an array of nft match expressions (strings)');
  const list = value as string[];
  const first = list[0]?.trimStart() ?? '';
  if (first.startsWith('-') || first.startsWith('!')) {
    throw new CniError(
      ErrorCode.UnsupportedField,
      `unsupported "${field}" ${showValue(value)}: iptables syntax`,
      'podnet-portmap programs nftables only; write the conditions in nft syntax, e.g. ["ip saddr != 10.0.0.0/8"]',
    );
  }
  list.forEach((c, i) => {
    if (c.trim() === '' || !CONDITION.test(c) || (c.split('"').length - 1) % 2 !== 0) {
      throw invalid(`${field}[${i}]`, c, 'an nft match expression (letters, digits, spaces and nft operators; no ";", "#" or newlines)');
    }
  });
  return list.map((c) => c.trim());
}

export function checkMarkBit(field: string, value: unknown): number {
  if (value === undefined) return DEFAULT_PROFILE.markBit;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 31) throw invalid(field, value, 'an integer from 0 to 31');
  return value;
}

function invalid(field: string, value: unknown, expected: string): CniError {
  return new CniError(ErrorCode.InvalidConfig, `invalid "${field}" ${showValue(value)}`, `expected ${expected}`);
}
