/**
 * Address lists (RFC 5322 section 3.4): parsing with groups, quoted names, comments and RFC 2047
 * names, tolerant of what address books produce; formatting for headers we write.
 *
 * @module
 */

import { decodeHeaderValue, encodeWords } from "./encoded_words.ts";

/** One mailbox: display name (decoded, may be "") and addr-spec. */
export interface Address {
  name: string;
  address: string;
}

type Token =
  | { kind: "word"; text: string; quoted: boolean; spaceBefore: boolean }
  | { kind: "comment"; text: string }
  | { kind: "special"; text: string };

const SPECIALS = "<>,;:@";

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let space = false;
  while (i < input.length) {
    const char = input[i]!;
    if (char === " " || char === "\t" || char === "\r" || char === "\n") {
      space = true;
      i++;
    } else if (char === '"' && input.indexOf('"', i + 1) < 0) {
      // An unterminated quote: read on as if it were not there.
      i++;
    } else if (char === '"') {
      let text = "";
      i++;
      while (i < input.length && input[i] !== '"') {
        if (input[i] === "\\" && i + 1 < input.length) i++;
        text += input[i];
        i++;
      }
      i++;
      tokens.push({ kind: "word", text, quoted: true, spaceBefore: space });
      space = false;
    } else if (char === "(") {
      let depth = 1;
      let text = "";
      i++;
      while (i < input.length) {
        const c = input[i]!;
        if (c === "\\" && i + 1 < input.length) {
          text += input[i + 1];
          i += 2;
          continue;
        }
        i++;
        if (c === "(") depth++;
        else if (c === ")" && --depth === 0) break;
        text += c;
      }
      tokens.push({ kind: "comment", text: text.trim() });
      space = true;
    } else if (SPECIALS.includes(char)) {
      tokens.push({ kind: "special", text: char });
      space = false;
      i++;
    } else {
      let text = "";
      while (i < input.length && !` \t\r\n"(${SPECIALS}`.includes(input[i]!)) text += input[i++];
      tokens.push({ kind: "word", text, quoted: false, spaceBefore: space });
      space = false;
    }
  }
  return tokens;
}

function quoteLocalPart(text: string): string {
  return /^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~.-]+$/.test(text) ? text : `"${text.replace(/(["\\])/g, "\\$1")}"`;
}

/** Joins display-name words with the spaces they had; RFC 2047 words are decoded. */
function phrase(words: Token[]): string {
  let out = "";
  for (const token of words) {
    if (token.kind !== "word") continue;
    if (out && token.spaceBefore) out += " ";
    out += token.text;
  }
  return decodeHeaderValue(out).replace(/\s+/g, " ").trim();
}

function mailbox(tokens: Token[]): Address | null {
  const open = tokens.findIndex((token) => token.kind === "special" && token.text === "<");
  const comments = tokens.filter((token) => token.kind === "comment").map((token) => token.text);
  if (open >= 0) {
    let close = tokens.findIndex((token, index) =>
      index > open && token.kind === "special" && token.text === ">"
    );
    if (close < 0) close = tokens.length;
    const inner = tokens.slice(open + 1, close);
    // Obsolete source routes (<@a,@b:user@host>, RFC 5322 section 4.4) are dropped.
    const colon = inner.findIndex((token) => token.kind === "special" && token.text === ":");
    const address = addrSpec(colon >= 0 ? inner.slice(colon + 1) : inner);
    const name = phrase(tokens.slice(0, open)) || decodeHeaderValue(comments.join(" ")).trim();
    return address || name ? { name, address } : null;
  }
  const address = addrSpec(tokens);
  if (!address) return null;
  return { name: decodeHeaderValue(comments.join(" ")).trim(), address };
}

function addrSpec(tokens: Token[]): string {
  let out = "";
  for (const token of tokens) {
    if (token.kind === "word") out += token.quoted ? quoteLocalPart(token.text) : token.text;
    else if (token.kind === "special" && token.text === "@") out += "@";
  }
  return out.trim();
}

/**
 * Parses an address-list header value (To, Cc, From, Reply-To, ...). Groups are flattened into
 * their members (`undisclosed-recipients:;` yields nothing); names are decoded; entries that
 * hold no address at all are dropped, an entry without "@" is kept as written. Never throws.
 */
export function parseAddressList(value: string): Address[] {
  const tokens = tokenize(value);
  const result: Address[] = [];
  let current: Token[] = [];
  let angle = false;
  const flush = () => {
    const entry = mailbox(current);
    if (entry && entry.address) result.push(entry);
    current = [];
  };
  for (const token of tokens) {
    if (token.kind === "special") {
      if (token.text === "<") angle = true;
      else if (token.text === ">") angle = false;
      else if (!angle && (token.text === "," || token.text === ";")) {
        flush();
        continue;
      } else if (!angle && token.text === ":") {
        // A group's display name ends here; its members follow (RFC 5322 section 3.4).
        current = [];
        continue;
      }
    }
    current.push(token);
  }
  flush();
  return result;
}

/** `atext` and blanks: a display name that needs neither quotes nor encoding. */
const PLAIN_NAME = /^[A-Za-z0-9!#$%&'*+\/=?^_`{|}~ -]+$/;

/**
 * Formats a mailbox for a header: `address`, `Name <address>`, `"Name, Q." <address>`, or an
 * RFC 2047 encoded name when it holds non-ASCII characters (RFC 2047 section 5 rule 3).
 */
export function formatAddress(address: Address): string {
  const name = address.name.replace(/[\r\n]+/g, " ").trim();
  if (!name) return address.address;
  let shown: string;
  if (PLAIN_NAME.test(name)) shown = name;
  else if (/^[\x20-\x7e]*$/.test(name) && !name.includes("=?")) {
    shown = `"${name.replace(/(["\\])/g, "\\$1")}"`;
  } else shown = encodeWords(name, " ");
  return `${shown} <${address.address}>`;
}

/** Formats a list of mailboxes for an address header, comma separated. */
export function formatAddressList(addresses: readonly Address[]): string {
  return addresses.map(formatAddress).join(", ");
}
