// Address syntax checks for results. Hand-written because loading node:net (for isIP) costs ~5 ms
// of start-up in a Bun-compiled plugin, more than the rest of the skel together.

const V4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${V4_OCTET}(?:\\.${V4_OCTET}){3}$`);
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** 4 or 6 for an IPv4/IPv6 address in text form (no zone, no prefix), else 0. */
export function ipFamily(s: string): 0 | 4 | 6 {
  if (V4.test(s)) return 4;
  return isV6(s) ? 6 : 0;
}

function isV6(s: string): boolean {
  if (s.length < 2 || s.length > 45) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  let groups = 0;
  for (let h = 0; h < halves.length; h++) {
    const half = halves[h]!;
    if (half === '') continue;
    const parts = half.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      // A dotted IPv4 tail (::ffff:10.0.0.1) counts as two groups, only at the very end.
      if (h === halves.length - 1 && i === parts.length - 1 && p.includes('.')) {
        if (!V4.test(p)) return false;
        groups += 2;
      } else if (HEX_GROUP.test(p)) {
        groups += 1;
      } else {
        return false;
      }
    }
  }
  return halves.length === 2 ? groups <= 7 : groups === 8;
}
