/**
 * IP address text <-> bytes for iPAddress SAN entries (RFC 5280 4.2.1.6:
 * four octets for IPv4, sixteen for IPv6). Private to `tls/`.
 *
 * @module
 */

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255)) {
    return undefined;
  }
  return parts.map(Number);
}

function parseIpv6(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, ""); // a zone id ("fe80::1%eth0") is local to the host, not part of the address
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const pieces = half.split(":");
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes(".")) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Bytes of an IPv4 or IPv6 address in text form; throws a clear error for anything else. */
export function ipToBytes(text: string): Uint8Array {
  const bytes = parseIpv4(text) ?? (text.includes(":") ? parseIpv6(text) : undefined);
  if (!bytes) throw new SyntaxError(`'${text}' is not an IPv4 or IPv6 address`);
  return Uint8Array.from(bytes);
}

/** Text of a 4- or 16-byte address; IPv6 in the RFC 5952 canonical form. */
export function ipFromBytes(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length !== 16) {
    throw new SyntaxError(`IP address of ${bytes.length} bytes is neither IPv4 nor IPv6`);
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The canonical text of an address, so differently written forms compare equal. */
export function canonicalIp(text: string): string {
  return ipFromBytes(ipToBytes(text));
}
