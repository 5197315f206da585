/** Helpers for literal test messages: LF in the source text becomes CRLF on the wire. */

/** The message text with CRLF line ends, as bytes. */
export function crlf(text: string): Uint8Array {
  return new TextEncoder().encode(text.replace(/\r?\n/g, "\r\n"));
}

/** Bytes as `=XX` escapes (quoted-printable or RFC 2047 Q text). */
export function hexEscape(bytes: number[]): string {
  return bytes.map((byte) => `=${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
}

/** The message bytes as text (Latin-1, one char per byte) for assertions on generated output. */
export function ascii(bytes: Uint8Array): string {
  return new TextDecoder("latin1").decode(bytes);
}
