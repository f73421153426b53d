// The little address arithmetic the bridge needs (a result's CIDRs → family, subnet, gateway).
// Pure, bigint math. No node:net: loading it costs milliseconds of a Bun-compiled plugin's start.

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
const HEXTET = /^[0-9a-fA-F]{1,4}$/;

function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

/** RFC 4291 text: 8 hextets, one `::` for a run of zeros, an optional dotted IPv4 tail. */
function isIPv6(s: string): boolean {
  const halves = s.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (const [h, half] of halves.entries()) {
    if (half === '') continue;
    const parts = half.split(':');
    for (const [i, part] of parts.entries()) {
      const last = h === halves.length - 1 && i === parts.length - 1;
      if (last && part.includes('.')) {
        if (!isIPv4(part)) return false;
        groups += 2;
      } else if (HEXTET.test(part)) {
        groups += 1;
      } else {
        return false;
      }
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

export interface Cidr {
  /** The address as written (host bits kept), canonical text. */
  address: string;
  prefix: number;
  family: 4 | 6;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIPv4(addr) ? 4 : isIPv6(addr) ? 6 : undefined;
  if (!family) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { address: formatIp(parseIp(addr, family), family), prefix, family };
}

export function ipFamily(address: string): 4 | 6 | undefined {
  return isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
}

/** Canonical text of an address (IPv6 compressed, lower case), or undefined when invalid. */
export function canonicalIp(address: string): string | undefined {
  const family = ipFamily(address);
  return family ? formatIp(parseIp(address, family), family) : undefined;
}

/** The network of a CIDR, e.g. 10.22.0.5/24 → 10.22.0.0/24. */
export function networkOf(cidr: Cidr): string {
  const bits = cidr.family === 4 ? 32 : 128;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - cidr.prefix)) - 1n);
  return `${formatIp(parseIp(cidr.address, cidr.family) & mask, cidr.family)}/${cidr.prefix}`;
}

/** The first address after the network address: the conventional gateway. */
export function firstHost(cidr: Cidr): string {
  const net = parseCidr(networkOf(cidr))!;
  return formatIp(parseIp(net.address, cidr.family) + 1n, cidr.family);
}

/** Whether `address` lies inside `cidr`. */
export function contains(cidr: Cidr, address: string): boolean {
  const family = ipFamily(address);
  if (family !== cidr.family) return false;
  return networkOf({ address, prefix: cidr.prefix, family }) === networkOf(cidr);
}

function parseIp(text: string, family: 4 | 6): bigint {
  if (family === 4) return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  let s = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = parseIp(v4[1]!, 4);
    s = `${s.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

function formatIp(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
