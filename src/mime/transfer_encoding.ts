/**
 * Content-Transfer-Encoding codecs (RFC 2045 section 6): tolerant decoders for what mailers
 * really send, strict encoders for what we write.
 *
 * @module
 */

import { MIME_LIMITS } from "./limits.ts";

const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/** Byte to 6-bit value; 255 for bytes outside the alphabet (URL-safe `-_` accepted too). */
const BASE64_VALUES = (() => {
  const table = new Uint8Array(256).fill(255);
  for (let i = 0; i < 64; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  table[0x2d] = 62;
  table[0x5f] = 63;
  return table;
})();

/**
 * Decodes base64, skipping line breaks and any byte outside the alphabet (RFC 2045 section 6.8:
 * "must be ignored"), stopping at the first `=`; missing or bad padding is tolerated and a
 * trailing lone 6-bit group is dropped.
 */
export function decodeBase64(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.floor(input.length * 3 / 4) + 3);
  let length = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    if (byte === 0x3d) break;
    const value = BASE64_VALUES[byte]!;
    if (value === 255) continue;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[length++] = (buffer >> bits) & 0xff;
    }
  }
  return out.subarray(0, length);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * Decodes quoted-printable (RFC 2045 section 6.7): `=XX` escapes, soft line breaks `=` CRLF (or
 * bare LF), trailing blanks on lines dropped (rule 3). A malformed `=` is kept literally, as
 * the RFC suggests. With `q` set it decodes RFC 2047's Q encoding, where `_` is a space.
 */
export function decodeQuotedPrintable(input: Uint8Array, q = false): Uint8Array {
  const out = new Uint8Array(input.length);
  let length = 0;
  let i = 0;
  while (i < input.length) {
    const byte = input[i]!;
    if (byte === 0x3d) {
      const high = hexValue(input[i + 1] ?? -1);
      const low = hexValue(input[i + 2] ?? -1);
      if (high >= 0 && low >= 0) {
        out[length++] = (high << 4) | low;
        i += 3;
        continue;
      }
      // Soft line break: "=" followed by optional blanks and the line end.
      let j = i + 1;
      while (input[j] === 0x20 || input[j] === 0x09) j++;
      if (input[j] === 0x0d && input[j + 1] === 0x0a) {
        i = j + 2;
        continue;
      }
      if (input[j] === 0x0a || j >= input.length) {
        i = j + 1;
        continue;
      }
      out[length++] = byte;
      i++;
      continue;
    }
    if (byte === 0x20 || byte === 0x09) {
      // Trailing whitespace before a line end was added in transport; drop it.
      let j = i;
      while (input[j] === 0x20 || input[j] === 0x09) j++;
      if (!q && (j >= input.length || input[j] === 0x0a || (input[j] === 0x0d && input[j + 1] === 0x0a))) {
        i = j;
        continue;
      }
      while (i < j) out[length++] = input[i++]!;
      continue;
    }
    out[length++] = q && byte === 0x5f ? 0x20 : byte;
    i++;
  }
  return out.subarray(0, length);
}

/** Base64 without line breaks. */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    out += BASE64_ALPHABET[a >> 2]! +
      BASE64_ALPHABET[((a & 3) << 4) | ((b ?? 0) >> 4)]! +
      (b === undefined ? "=" : BASE64_ALPHABET[((b & 15) << 2) | ((c ?? 0) >> 6)]!) +
      (c === undefined ? "=" : BASE64_ALPHABET[c & 63]!);
  }
  return out;
}

/** Base64 body in lines of 76 characters separated by CRLF (RFC 2045 section 6.8), no final line end. */
export function encodeBase64Lines(bytes: Uint8Array): string {
  const flat = encodeBase64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < flat.length; i += MIME_LIMITS.base64LineLength) {
    lines.push(flat.slice(i, i + MIME_LIMITS.base64LineLength));
  }
  return lines.join("\r\n");
}

const HEX = "0123456789ABCDEF";

/**
 * Quoted-printable body of text bytes whose lines end in LF or CRLF (RFC 2045 section 6.7):
 * line breaks stay hard CRLF breaks, lines are soft-broken before 76 characters, trailing
 * blanks and a leading "." or "From " are escaped so no transport can alter them. No final
 * line end is added: the one before a boundary belongs to the boundary.
 */
export function encodeQuotedPrintable(bytes: Uint8Array): string {
  const lines: string[] = [];
  let line = "";
  const limit = MIME_LIMITS.qpLineLength - 1;
  const push = (token: string) => {
    if (line.length + token.length > limit) {
      lines.push(line + "=");
      line = "";
    }
    line += token;
  };
  const escape = (byte: number) => `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x0d && bytes[i + 1] === 0x0a) continue;
    if (byte === 0x0a) {
      lines.push(line);
      line = "";
      continue;
    }
    const atLineEnd = i + 1 >= bytes.length || bytes[i + 1] === 0x0a ||
      (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a);
    const plain = (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d) ||
      ((byte === 0x20 || byte === 0x09) && !atLineEnd);
    // A line starting with "." or "From " can be changed by SMTP or mbox transports.
    const risky = line.length === 0 && (byte === 0x2e || (byte === 0x46 && isFromLine(bytes, i)));
    push(plain && !risky ? String.fromCharCode(byte) : escape(byte));
  }
  lines.push(line);
  return lines.join("\r\n");
}

function isFromLine(bytes: Uint8Array, i: number): boolean {
  return bytes[i + 1] === 0x72 && bytes[i + 2] === 0x6f && bytes[i + 3] === 0x6d && bytes[i + 4] === 0x20;
}
