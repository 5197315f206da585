/**
 * Charset labels to TextDecoder decoders. TextDecoder (the WHATWG Encoding Standard) knows the
 * charsets mail uses; this adds the labels legacy mailers write that it does not know, and a
 * fallback that never throws.
 *
 * @module
 */

/** Mail charset aliases that the WHATWG label table lacks, mapped to labels it has. */
const ALIASES: Readonly<Record<string, string>> = {
  utf8: "utf-8",
  "utf-8n": "utf-8",
  ascii: "us-ascii",
  "ansi_x3.4-1968": "us-ascii",
  "iso646-us": "us-ascii",
  cp932: "shift_jis",
  "shift-jis": "shift_jis",
  sjis: "shift_jis",
  "x-ms-cp932": "shift_jis",
  cp936: "gbk",
  "x-gbk": "gbk",
  "gb_2312": "gbk",
  euc_cn: "gbk",
  "euc-cn": "gbk",
  cp949: "euc-kr",
  uhc: "euc-kr",
  "ks_c_5601": "euc-kr",
  cp950: "big5",
  "big5-hkscs": "big5",
  "iso-2022-jp-1": "iso-2022-jp",
  "iso-2022-jp-2": "iso-2022-jp",
  "iso-2022-jp-3": "iso-2022-jp",
  koi8r: "koi8-r",
  "koi8_r": "koi8-r",
};

/** Labels whose bytes, in practice, are often UTF-8 or Windows-1252 despite the declaration. */
const WEAK_LABELS = new Set(["", "us-ascii", "unknown-8bit", "x-unknown", "default", "8bit", "binary"]);

/**
 * Normalizes a charset label from a header or parameter: trims quotes and blanks, lowercases,
 * maps `cpNNNN`, `iso8859-N`, `windows_125x` and other legacy spellings to WHATWG labels.
 */
export function normalizeCharset(label: string): string {
  let name = label.trim().replace(/^["']|["']$/g, "").trim().toLowerCase();
  // RFC 2231 section 5: a language tag may follow the charset in encoded words (charset*lang).
  const star = name.indexOf("*");
  if (star >= 0) name = name.slice(0, star);
  if (Object.hasOwn(ALIASES, name)) return ALIASES[name]!;
  let match = /^(?:cp|windows[-_]?|win|x-cp)(12[5-9]\d)$/.exec(name);
  if (match) return `windows-${match[1]}`;
  match = /^iso[-_ ]?8859[-_ ]?(\d{1,2})(?::\d+)?$/.exec(name);
  if (match) return `iso-8859-${match[1]}`;
  match = /^latin[-_]?([1-9])$/.exec(name);
  if (match) return `latin${match[1]}`;
  return name;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const lenientUtf8 = new TextDecoder("utf-8");
const windows1252 = new TextDecoder("windows-1252");
const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    try {
      decoder = new TextDecoder(label);
    } catch {
      decoder = null;
    }
    // Bounded: the map only grows by labels TextDecoder accepted or rejected, keyed on short strings.
    if (decoders.size < 256) decoders.set(label, decoder);
  }
  return decoder;
}

/** True if every byte is below 0x80. */
export function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

/** Decodes bytes of unknown charset: UTF-8 when they are valid UTF-8, Windows-1252 otherwise. */
export function decodeGuess(bytes: Uint8Array): string {
  try {
    return fatalUtf8.decode(bytes);
  } catch {
    return windows1252.decode(bytes);
  }
}

/**
 * Decodes bytes in the given charset label. Unknown labels and the weak ones (missing,
 * US-ASCII, which 8-bit mail often carries anyway) use the UTF-8 / Windows-1252 guess;
 * never throws.
 */
export function decodeCharset(bytes: Uint8Array, label: string | undefined): string {
  const name = normalizeCharset(label ?? "");
  if (WEAK_LABELS.has(name)) return decodeGuess(bytes);
  if (name === "utf-8") return lenientUtf8.decode(bytes);
  const decoder = decoderFor(name);
  return decoder ? decoder.decode(bytes) : decodeGuess(bytes);
}
