/**
 * Pure pieces of SMTP (RFC 5321): reply parsing, EHLO extension parsing, DATA encoding with
 * dot-stuffing, AUTH encodings. The socket code in smtp_client.ts uses them.
 *
 * @module
 */

import type { SmtpReply } from "./errors.ts";

/** Parses the lines of one reply ("250-first", "250 last"); undefined if a line is not a reply line. */
export function parseReply(lines: readonly string[]): SmtpReply | undefined {
  let code = 0;
  const texts: string[] = [];
  for (const line of lines) {
    const match = /^([2-5]\d\d)(?:[ -](.*))?$/.exec(line);
    if (!match || (code && Number(match[1]) !== code)) return undefined;
    code = Number(match[1]);
    texts.push(match[2] ?? "");
  }
  if (!code) return undefined;
  // RFC 2034: an enhanced status code starts the text of each line when the server supports it.
  const enhanced = /^([245]\.\d{1,3}\.\d{1,3})\s/.exec(texts[0] ?? "")?.[1];
  const text = texts.map((line) =>
    enhanced && line.startsWith(enhanced) ? line.slice(enhanced.length).trim() : line
  )
    .join("\n");
  return enhanced ? { code, enhanced, text } : { code, text };
}

/** True when the reply line is the last of its reply ("250 " or a bare "250"). */
export function isLastReplyLine(line: string): boolean {
  return line.length < 4 || line[3] !== "-";
}

/** EHLO extensions (RFC 5321 section 4.1.1.1): keyword uppercased to its parameters. */
export type Extensions = Map<string, string[]>;

/** Reads the extensions of an EHLO reply (the first line is the greeting, not an extension). */
export function parseExtensions(reply: SmtpReply): Extensions {
  const extensions: Extensions = new Map();
  for (const line of reply.text.split("\n").slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword) extensions.set(keyword.toUpperCase(), params);
  }
  return extensions;
}

/** The SIZE limit a server announced (RFC 1870); undefined when none or 0 (no fixed limit). */
export function sizeLimit(extensions: Extensions): number | undefined {
  const value = Number(extensions.get("SIZE")?.[0]);
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** AUTH mechanisms offered, uppercased; old servers announce "AUTH=PLAIN LOGIN" as well. */
export function authMechanisms(extensions: Extensions): Set<string> {
  const mechanisms = new Set((extensions.get("AUTH") ?? []).map((mechanism) => mechanism.toUpperCase()));
  for (const keyword of extensions.keys()) {
    if (keyword.startsWith("AUTH=")) {
      for (const mechanism of keyword.slice(5).split(",")) mechanisms.add(mechanism);
    }
  }
  return mechanisms;
}

/** Base64 of a UTF-8 string, for AUTH exchanges (RFC 4954). */
export function base64Text(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The SASL PLAIN initial response (RFC 4616): NUL user NUL password, base64. */
export function plainAuth(user: string, password: string): string {
  return base64Text(`\0${user}\0${password}`);
}

/**
 * The message as DATA content (RFC 5321 section 4.5.2): every line end made CRLF, a "." at
 * a line start doubled, a final CRLF ensured, and the terminating ".\r\n" appended.
 */
export function encodeData(message: Uint8Array): Uint8Array {
  let extra = 5;
  for (let i = 0; i < message.length; i++) {
    const byte = message[i]!;
    if (byte === 0x0a || byte === 0x0d || byte === 0x2e) extra++;
  }
  const out = new Uint8Array(message.length + extra);
  let length = 0;
  let lineStart = true;
  for (let i = 0; i < message.length; i++) {
    const byte = message[i]!;
    if (byte === 0x0d || byte === 0x0a) {
      // CRLF, bare CR and bare LF all become one CRLF.
      if (byte === 0x0d && message[i + 1] === 0x0a) i++;
      out[length++] = 0x0d;
      out[length++] = 0x0a;
      lineStart = true;
      continue;
    }
    if (lineStart && byte === 0x2e) out[length++] = 0x2e;
    out[length++] = byte;
    lineStart = false;
  }
  if (!lineStart) {
    out[length++] = 0x0d;
    out[length++] = 0x0a;
  }
  out[length++] = 0x2e;
  out[length++] = 0x0d;
  out[length++] = 0x0a;
  return out.subarray(0, length);
}

/** True if the message has bytes above 0x7f, so it needs BODY=8BITMIME (RFC 6152). */
export function hasEightBit(message: Uint8Array): boolean {
  for (let i = 0; i < message.length; i++) if (message[i]! >= 0x80) return true;
  return false;
}

/** An address for MAIL FROM / RCPT TO; rejects characters that would break the command line. */
export function pathArgument(address: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x20<>\x7f]/.test(address)) throw new TypeError(`Invalid address "${address}"`);
  return `<${address}>`;
}
