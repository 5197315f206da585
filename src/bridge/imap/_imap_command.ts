/**
 * Building command arguments (RFC 3501 section 4): atoms where the text allows,
 * quoted strings for other 7-bit text, literals for anything with CR, LF, NUL
 * or 8-bit characters. Mailbox names are sent in modified UTF-7.
 */

import { encodeMailboxName } from "./_imap_utf7.ts";

/** A literal argument; the client sends it as `{n+}` (LITERAL+) or waits for the server's "+". */
export interface LiteralPart {
  readonly literal: Uint8Array;
}

/** A line sent only after the server's "+" (a SASL response of AUTHENTICATE without SASL-IR). */
export interface ContinuationPart {
  readonly continuationText: string;
}

/** One piece of a command line: raw text, a literal, or a line after a continuation. */
export type CommandPart = string | LiteralPart | ContinuationPart;

const ATOM = /^[!#$&'+-[^-z|}~]+$/;
/** 7-bit text without NUL, CR or LF can be a quoted string (RFC 3501 TEXT-CHAR). */
function quotable(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code === 0 || code === 0x0a || code === 0x0d || code > 0x7f) return false;
  }
  return true;
}

/** An astring argument: atom, quoted string or literal. */
export function astring(value: string): CommandPart {
  if (value.length > 0 && value.length < 1024 && ATOM.test(value) && value.toUpperCase() !== "NIL") {
    return value;
  }
  if (value.length < 1024 && quotable(value)) return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return { literal: new TextEncoder().encode(value) };
}

/** A mailbox argument from a Unicode name ("INBOX" is case-insensitive and sent as is). */
export function mailboxArg(name: string): CommandPart {
  return astring(name.toUpperCase() === "INBOX" ? "INBOX" : encodeMailboxName(name));
}

/** Checks a caller-given sequence set before it goes on the wire. */
export function checkSequenceSet(set: string): string {
  if (!/^(\d+|\*)(:(\d+|\*))?(,(\d+|\*)(:(\d+|\*))?)*$/.test(set)) {
    throw new TypeError(`Invalid sequence set "${set}"`);
  }
  return set;
}

/** Checks flags given by a caller ("\\Seen", "$Forwarded", keywords). */
export function flagList(flags: readonly string[]): string {
  for (const flag of flags) {
    if (!/^\\?[!#$&'+-.0-9:;<=>?@A-Z^-z|~]+$/.test(flag)) throw new TypeError(`Invalid flag "${flag}"`);
  }
  return `(${flags.join(" ")})`;
}
