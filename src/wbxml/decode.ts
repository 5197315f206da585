/**
 * WBXML 1.3 decoder for EAS bodies (MS-ASWBXML 2.1.2). It reads untrusted
 * bytes: every failure is a {@link WbxmlSyntaxError} with the offset, every
 * size is checked against {@link WbxmlLimits} before anything is allocated,
 * and OPAQUE content is returned as a view of the input, never copied.
 */
import { CODE_PAGES, TAG_NAMES } from "./codepages/mod.ts";
import { WbxmlSyntaxError } from "./errors.ts";
import { WBXML_LIMITS, type WbxmlLimits } from "./limits.ts";
import type { WbxmlElement } from "./tree.ts";
import { GLOBAL, TAG_ATTRIBUTES, TAG_CONTENT } from "./_tokens.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Names of global tokens EAS never sends, for clear messages. */
const UNUSED_GLOBALS: ReadonlyMap<number, string> = new Map([
  [GLOBAL.ENTITY, "ENTITY"],
  [GLOBAL.LITERAL, "LITERAL"],
  [GLOBAL.EXT_I_0, "EXT_I_0"],
  [GLOBAL.EXT_I_1, "EXT_I_1"],
  [GLOBAL.EXT_I_2, "EXT_I_2"],
  [GLOBAL.PI, "PI"],
  [GLOBAL.LITERAL_C, "LITERAL_C"],
  [GLOBAL.EXT_T_0, "EXT_T_0"],
  [GLOBAL.EXT_T_1, "EXT_T_1"],
  [GLOBAL.EXT_T_2, "EXT_T_2"],
  [GLOBAL.STR_T, "STR_T"],
  [GLOBAL.LITERAL_A, "LITERAL_A"],
  [GLOBAL.EXT_0, "EXT_0"],
  [GLOBAL.EXT_1, "EXT_1"],
  [GLOBAL.EXT_2, "EXT_2"],
  [GLOBAL.LITERAL_AC, "LITERAL_AC"],
]);

function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** Reads a WBXML mb_u_int32 (WAP-192-WBXML 5.1): at most 5 bytes, at most 2^32 - 1. */
function readMbUint32(bytes: Uint8Array, start: number, what: string): [value: number, next: number] {
  let value = 0;
  let pos = start;
  for (let i = 0; i < 5; i++) {
    if (pos >= bytes.length) {
      throw new WbxmlSyntaxError(`Truncated ${what}`, pos, `a multi-byte integer byte`);
    }
    const b = bytes[pos++]!;
    value = value * 128 + (b & 0x7F);
    if ((b & 0x80) === 0) {
      if (value > 0xFFFFFFFF) {
        throw new WbxmlSyntaxError(`The ${what} is too large`, start, "a 32-bit integer");
      }
      return [value, pos];
    }
  }
  throw new WbxmlSyntaxError(`The ${what} is longer than 5 bytes`, start, "a 32-bit multi-byte integer");
}

function decodeString(bytes: Uint8Array, start: number, end: number): string {
  // Short ASCII strings (ids, statuses, keys) are most of EAS; skip TextDecoder for them.
  if (end - start <= 32) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  try {
    return utf8.decode(bytes.subarray(start, end));
  } catch {
    throw new WbxmlSyntaxError("Invalid UTF-8 in an inline string", start, "UTF-8 text");
  }
}

function checkLeaf(parent: WbxmlElement, offset: number, adding: string): void {
  if (parent.children !== undefined) {
    throw new WbxmlSyntaxError(
      `Mixed content in "${parent.ns}:${parent.name}" is not used by EAS`,
      offset,
      "a tag or END",
    );
  }
  if (
    (adding === "text" && parent.opaque !== undefined) || (adding === "opaque" && parent.text !== undefined)
  ) {
    throw new WbxmlSyntaxError(
      `Both a string and opaque data in "${parent.ns}:${parent.name}"`,
      offset,
      `more ${parent.text !== undefined ? "string" : "opaque"} content or END`,
    );
  }
}

/** Checks the EAS header (MS-ASWBXML 2.1.2.1) and returns the offset of the body. */
function readHeader(bytes: Uint8Array): number {
  if (bytes.length < 4) throw new WbxmlSyntaxError("Truncated WBXML header", bytes.length, "4 header bytes");
  if (bytes[0] !== 0x03) {
    throw new WbxmlSyntaxError(`Unsupported WBXML version ${hex(bytes[0]!)}`, 0, "0x03 (WBXML 1.3)");
  }
  let [publicId, pos] = readMbUint32(bytes, 1, "public identifier");
  if (publicId === 0) {
    throw new WbxmlSyntaxError("A public identifier in the string table is not used by EAS", 1, "0x01");
  }
  const charsetAt = pos;
  let charset: number;
  [charset, pos] = readMbUint32(bytes, pos, "charset");
  if (charset !== 0x6A) {
    throw new WbxmlSyntaxError(`Unsupported charset MIBenum ${charset}`, charsetAt, "106 (UTF-8)");
  }
  const tableAt = pos;
  let tableLength: number;
  [tableLength, pos] = readMbUint32(bytes, pos, "string table length");
  if (tableLength !== 0) {
    throw new WbxmlSyntaxError(`String tables are not used by EAS (length ${tableLength})`, tableAt, "0x00");
  }
  void publicId;
  return pos;
}

function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  const joined = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/**
 * Decodes one EAS WBXML document into a tree. An empty string or zero-length
 * OPAQUE yields an element without content, as an empty tag does. OPAQUE content is a subarray
 * view of `bytes` (keep `bytes` alive and unmodified while the tree is used).
 * Throws {@link WbxmlSyntaxError} and nothing else.
 */
export function decode(bytes: Uint8Array, limits?: Partial<WbxmlLimits>): WbxmlElement {
  const lim: WbxmlLimits = limits ? { ...WBXML_LIMITS, ...limits } : WBXML_LIMITS;
  if (!(bytes instanceof Uint8Array)) {
    throw new WbxmlSyntaxError("Input is not a byte array", 0, "a Uint8Array");
  }
  if (bytes.length > lim.maxBodyBytes) {
    throw new WbxmlSyntaxError(
      `Body of ${bytes.length} bytes exceeds the limit of ${lim.maxBodyBytes}`,
      lim.maxBodyBytes,
      "a smaller body",
    );
  }
  let pos = readHeader(bytes);
  const len = bytes.length;
  const stack: WbxmlElement[] = [];
  let root: WbxmlElement | undefined;
  let page = 0;
  let tokens = 0;
  let names = TAG_NAMES[0]!;
  // OPAQUE blocks of the innermost open element when it has more than one (only a leaf can hold them).
  let opaqueParts: Uint8Array[] | undefined;
  let opaqueBytes = 0;
  while (pos < len) {
    if (root !== undefined && stack.length === 0) {
      throw new WbxmlSyntaxError("Trailing bytes after the root element", pos, "end of input");
    }
    const start = pos;
    const b = bytes[pos++]!;
    if (++tokens > lim.maxTokens) {
      throw new WbxmlSyntaxError(`More than ${lim.maxTokens} tokens`, start, "a shorter document");
    }
    switch (b) {
      case GLOBAL.SWITCH_PAGE: {
        if (pos >= len) throw new WbxmlSyntaxError("Truncated SWITCH_PAGE", pos, "a code page number");
        const next = bytes[pos++]!;
        if (next >= CODE_PAGES.length) {
          throw new WbxmlSyntaxError(
            `Unknown code page ${next}`,
            pos - 1,
            `a code page from 0 to ${CODE_PAGES.length - 1}`,
          );
        }
        page = next;
        names = TAG_NAMES[page]!;
        continue;
      }
      case GLOBAL.END: {
        if (stack.length === 0) throw new WbxmlSyntaxError("END without an open element", start, "a tag");
        const closed = stack.pop()!;
        if (opaqueParts !== undefined) {
          closed.opaque = joinParts(opaqueParts, opaqueBytes);
          opaqueParts = undefined;
        }
        continue;
      }
      case GLOBAL.STR_I: {
        const parent = stack[stack.length - 1];
        if (!parent) throw new WbxmlSyntaxError("A string outside the root element", start, "a tag");
        checkLeaf(parent, start, "text");
        const end = bytes.indexOf(0, pos);
        if (end < 0) throw new WbxmlSyntaxError("Unterminated inline string", pos, "a 0x00 terminator");
        if (end - pos > lim.maxStringBytes) {
          throw new WbxmlSyntaxError(
            `Inline string of ${end - pos} bytes exceeds the limit of ${lim.maxStringBytes}`,
            pos,
            "a shorter string",
          );
        }
        const text = decodeString(bytes, pos, end);
        // An empty string is the same as no content (encode() writes it as an empty tag).
        if (text !== "") parent.text = parent.text === undefined ? text : parent.text + text;
        if (parent.text !== undefined && parent.text.length > lim.maxStringBytes) {
          throw new WbxmlSyntaxError("Concatenated strings exceed the string limit", pos, "a shorter string");
        }
        pos = end + 1;
        continue;
      }
      case GLOBAL.OPAQUE: {
        const parent = stack[stack.length - 1];
        if (!parent) throw new WbxmlSyntaxError("Opaque data outside the root element", start, "a tag");
        checkLeaf(parent, start, "opaque");
        let length: number;
        [length, pos] = readMbUint32(bytes, pos, "OPAQUE length");
        if (length > lim.maxOpaqueBytes) {
          throw new WbxmlSyntaxError(
            `OPAQUE of ${length} bytes exceeds the limit of ${lim.maxOpaqueBytes}`,
            start,
            "a shorter OPAQUE",
          );
        }
        if (length > len - pos) {
          throw new WbxmlSyntaxError(
            `Truncated OPAQUE: ${length} bytes declared, ${len - pos} present`,
            pos,
            `${length} bytes`,
          );
        }
        const view = bytes.subarray(pos, pos + length);
        if (length === 0) {
          // Zero-length OPAQUE is no content, like an empty tag.
        } else if (parent.opaque === undefined) {
          parent.opaque = view;
        } else {
          // Several OPAQUE blocks in one element are legal WBXML: collect them
          // and join once at END, so many tiny blocks cannot cause quadratic copying.
          opaqueBytes = (opaqueParts === undefined ? parent.opaque.length : opaqueBytes) + length;
          if (opaqueBytes > lim.maxOpaqueBytes) {
            throw new WbxmlSyntaxError(
              "Concatenated OPAQUE exceeds the opaque limit",
              start,
              "a shorter OPAQUE",
            );
          }
          (opaqueParts ??= [parent.opaque]).push(view);
        }
        pos += length;
        continue;
      }
    }
    const unused = UNUSED_GLOBALS.get(b);
    if (unused !== undefined) {
      throw new WbxmlSyntaxError(
        `Token ${unused} (${hex(b)}) is not used by EAS`,
        start,
        "a tag, STR_I, OPAQUE or END",
      );
    }
    if (b & TAG_ATTRIBUTES) {
      throw new WbxmlSyntaxError(
        `Tag ${hex(b)} has attributes, which EAS does not use`,
        start,
        "a tag without attributes",
      );
    }
    const name = names[b & 0x3F];
    if (name === undefined) {
      throw new WbxmlSyntaxError(
        `Unknown tag ${hex(b & 0x3F)} in code page ${page} (${CODE_PAGES[page]!.namespace})`,
        start,
        "a tag defined in MS-ASWBXML",
      );
    }
    const element: WbxmlElement = { ns: CODE_PAGES[page]!.namespace, name };
    const parent = stack[stack.length - 1];
    if (parent) {
      if (parent.text !== undefined || parent.opaque !== undefined) {
        throw new WbxmlSyntaxError(
          `Mixed content in "${parent.ns}:${parent.name}" is not used by EAS`,
          start,
          "more content of the same kind or END",
        );
      }
      (parent.children ??= []).push(element);
    } else if (root === undefined) {
      root = element;
    }
    if (b & TAG_CONTENT) {
      if (stack.length >= lim.maxDepth) {
        throw new WbxmlSyntaxError(`Nesting deeper than ${lim.maxDepth} elements`, start, "END");
      }
      stack.push(element);
    }
  }
  if (root === undefined) throw new WbxmlSyntaxError("No root element", pos, "a tag");
  if (stack.length > 0) {
    const open = stack[stack.length - 1]!;
    throw new WbxmlSyntaxError(`Truncated body: "${open.ns}:${open.name}" is not closed`, pos, "END");
  }
  return root;
}
