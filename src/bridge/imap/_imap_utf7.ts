/**
 * Modified UTF-7 for mailbox names (RFC 3501 section 5.1.3): printable ASCII
 * stands for itself except "&" (written "&-"); other characters are UTF-16BE
 * in modified base64 (RFC 2152 with "," instead of "/"), between "&" and "-".
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
const REVERSE = new Map([...ALPHABET].map((c, i) => [c, i]));

function isDirect(code: number): boolean {
  return code >= 0x20 && code <= 0x7e;
}

function encodeShifted(units: number[]): string {
  const bytes: number[] = [];
  for (const u of units) bytes.push(u >> 8, u & 0xff);
  let out = "";
  let bits = 0;
  let buffer = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(buffer >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (6 - bits)) & 0x3f];
  return out;
}

/** Encodes a Unicode mailbox name to modified UTF-7 for use in commands. */
export function encodeMailboxName(name: string): string {
  let out = "";
  let pending: number[] = [];
  const flush = () => {
    if (pending.length > 0) out += `&${encodeShifted(pending)}-`;
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (isDirect(code)) {
      flush();
      out += code === 0x26 ? "&-" : name[i];
    } else {
      pending.push(code);
    }
  }
  flush();
  return out;
}

/**
 * Decodes a modified UTF-7 mailbox name to Unicode. Names that are not valid
 * modified UTF-7 (servers with UTF8=ACCEPT, or sloppy ones) are returned as given,
 * so a folder never disappears because of its name.
 */
export function decodeMailboxName(name: string): string {
  if (!name.includes("&")) return name;
  let out = "";
  let i = 0;
  while (i < name.length) {
    const c = name[i]!;
    if (c !== "&") {
      out += c;
      i++;
      continue;
    }
    const end = name.indexOf("-", i + 1);
    if (end < 0) return name;
    if (end === i + 1) {
      out += "&";
      i = end + 1;
      continue;
    }
    let buffer = 0;
    let bits = 0;
    const bytes: number[] = [];
    for (const ch of name.slice(i + 1, end)) {
      const v = REVERSE.get(ch);
      if (v === undefined) return name;
      buffer = ((buffer << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push((buffer >> bits) & 0xff);
      }
    }
    if (bytes.length % 2 !== 0) return name;
    for (let k = 0; k < bytes.length; k += 2) out += String.fromCharCode((bytes[k]! << 8) | bytes[k + 1]!);
    i = end + 1;
  }
  return out;
}
