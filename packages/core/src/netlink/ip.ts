// Text ↔ bytes for IPv4, IPv6 and MAC addresses. Tiny and strict: a bad address is an error that
// quotes it, never a silent zero.

export type IpFamily = 4 | 6;

/** `'10.1.2.3'` → 4 bytes, `'fd00::1'` → 16 bytes. Throws on anything else (zones included). */
export function parseIp(text: string): Uint8Array {
  const b = text.includes(':') ? parseV6(text) : parseV4(text);
  if (!b) throw new TypeError(`invalid IP address "${text}": expected dotted IPv4 or IPv6 text`);
  return b;
}

const canonicalCache = new Map<string, string>();
const CANONICAL_CACHE_MAX = 65_536;

/**
 * `formatIp(parseIp(text))`, memoised: the agent's reconcile canonicalises the same few thousand
 * peer addresses on every pass, and parse + format cost more than the rest of the route diff.
 * Throws like parseIp on a bad address (bad input is never cached).
 */
export function canonicalIp(text: string): string {
  let out = canonicalCache.get(text);
  if (out === undefined) {
    out = formatIp(parseIp(text));
    if (canonicalCache.size >= CANONICAL_CACHE_MAX) canonicalCache.clear();
    canonicalCache.set(text, out);
  }
  return out;
}

export function ipFamily(text: string): IpFamily {
  return parseIp(text).length === 4 ? 4 : 6;
}

export function isIp(text: string): boolean {
  return (text.includes(':') ? parseV6(text) : parseV4(text)) !== undefined;
}

/** 4 or 16 bytes → canonical text (RFC 5952 for IPv6: lowercase, longest zero run as `::`). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new TypeError(`cannot format a ${b.length}-byte IP address`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  // IPv4-mapped: ::ffff:a.b.c.d
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function parseV4(text: string): Uint8Array | undefined {
  // One scan of the characters (no split, no regex: a reconcile of 5,000 routes parses ~15,000
  // addresses); the same grammar: four decimal parts 0–255, no leading zeros ("010" means 8 to
  // some parsers and 10 to others), nothing else.
  const out = new Uint8Array(4);
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; // a '.' after the end closes the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return undefined;
      out[part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return undefined; // leading zero
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return undefined;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

function parseV6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  // A dotted IPv4 tail (::ffff:10.0.0.1) is allowed only at the very end of the address.
  const groups = (s: string, last: boolean): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (last && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? groups(halves[1] as string, true) : [];
  if (!head || !tail) return undefined;
  const all = halves.length === 2 ? [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
  if (all.length !== 8 || (halves.length === 2 && head.length + tail.length > 7)) return undefined;
  const out = new Uint8Array(16);
  all.forEach((x, i) => {
    out[2 * i] = x >> 8;
    out[2 * i + 1] = x & 0xff;
  });
  return out;
}

/** `'02:42:ac:11:00:02'` (or with `-`) → 6 bytes. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new TypeError(`invalid MAC address "${text}": expected six hex pairs like 02:42:ac:11:00:02`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Bytes → lowercase `aa:bb:cc:dd:ee:ff` (any length, as link-layer addresses vary). */
export function formatMac(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** An address with a prefix length; the address in canonical text, host bits kept as written. */
export interface Cidr {
  address: string;
  prefixLength: number;
  family: IpFamily;
}

/** `'10.1.0.0/16'` → `{ address: '10.1.0.0', prefixLength: 16 }`; a bare address gets /32 or /128. */
export function parseCidr(text: string): Cidr {
  const cidr = tryParseCidr(text);
  if (!cidr) throw new TypeError(`invalid CIDR "${text}": expected an address and a prefix length, like 10.1.0.0/16 or fd00::/64`);
  return cidr;
}

/** As parseCidr, but undefined for bad text: for callers that report it in their own words. */
export function tryParseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const bytes = addr.includes(':') ? parseV6(addr) : parseV4(addr);
  if (!bytes) return undefined;
  const max = bytes.length === 4 ? 32 : 128;
  const lenText = slash < 0 ? String(max) : text.slice(slash + 1);
  // No leading zeros, as in the address: one spelling per prefix length.
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) return undefined;
  return { address: formatIp(bytes), prefixLength: Number(lenText), family: bytes.length === 4 ? 4 : 6 };
}
