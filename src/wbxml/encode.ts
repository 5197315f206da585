/**
 * WBXML encoder for EAS trees (MS-ASWBXML 2.1.2): writes the smallest valid
 * encoding, switching code page only when a tag's page differs from the
 * current one.
 */
import { CODE_PAGES } from "./codepages/mod.ts";
import type { WbxmlElement } from "./tree.ts";
import { ByteWriter } from "./_writer.ts";
import { EAS_HEADER, GLOBAL, TAG_CONTENT } from "./_tokens.ts";

/** Namespace to (tag name to `page << 8 | token`): two lookups, no string building per element. */
const CODES_BY_NAMESPACE: ReadonlyMap<string, ReadonlyMap<string, number>> = new Map(
  CODE_PAGES.map((
    p,
  ) => [p.namespace, new Map(Object.entries(p.tokens).map(([name, token]) => [name, p.page << 8 | token]))]),
);

/** Looks up `page << 8 | token` for an element; a plain Error names unknown tags. */
export function tagCode(ns: string, name: string): number {
  const code = CODES_BY_NAMESPACE.get(ns)?.get(name);
  if (code === undefined) throw new Error(`Unknown WBXML tag "${ns}:${name}"`);
  return code;
}

/** Rejects text that STR_I cannot carry (its terminator is 0x00). */
export function checkText(element: { ns: string; name: string }, text: string): void {
  if (text.includes("\0")) {
    throw new Error(`Text of "${element.ns}:${element.name}" contains a NUL character`);
  }
}

/** Encoder state shared by the tree and stream encoders: the output and the current code page. */
export class EncoderState {
  page = 0;
  constructor(readonly out: ByteWriter) {}

  /** Writes the tag (with SWITCH_PAGE when needed); `content` sets the content bit. */
  tag(ns: string, name: string, content: boolean): void {
    const code = tagCode(ns, name);
    const page = code >> 8;
    const out = this.out;
    if (page !== this.page) {
      out.byte(GLOBAL.SWITCH_PAGE);
      out.byte(page);
      this.page = page;
    }
    out.byte(content ? (code & 0x3F) | TAG_CONTENT : code & 0x3F);
  }

  text(element: { ns: string; name: string }, text: string): void {
    checkText(element, text);
    this.out.byte(GLOBAL.STR_I);
    this.out.cstring(text);
  }

  opaqueHeader(length: number): void {
    this.out.byte(GLOBAL.OPAQUE);
    this.out.mbUint32(length);
  }
}

/**
 * Writes one element and its subtree. Empty text, children or opaque count
 * as no content and give an empty tag, the smallest form.
 */
export function writeElement(state: EncoderState, element: WbxmlElement, depth: number): void {
  if (depth > 1000) throw new Error("Tree is nested deeper than 1000 elements");
  const { children, text, opaque } = element;
  const hasChildren = children !== undefined && children.length > 0;
  const hasText = text !== undefined && text !== "";
  const hasOpaque = opaque !== undefined && opaque.length > 0;
  if (!hasChildren && !hasText && !hasOpaque) {
    state.tag(element.ns, element.name, false);
    return;
  }
  if ((hasChildren ? 1 : 0) + (hasText ? 1 : 0) + (hasOpaque ? 1 : 0) > 1) {
    throw new Error(`Element "${element.ns}:${element.name}" has more than one kind of content`);
  }
  state.tag(element.ns, element.name, true);
  if (hasChildren) {
    for (let i = 0; i < children.length; i++) writeElement(state, children[i]!, depth + 1);
  } else if (hasText) {
    state.text(element, text);
  } else {
    state.opaqueHeader(opaque!.length);
    state.out.bytes(opaque!);
  }
  state.out.byte(GLOBAL.END);
}

/**
 * Encodes a tree as EAS WBXML (header `03 01 6A 00`). An element whose text
 * is "", whose children are [] or whose opaque is empty is written as an
 * empty tag: the smallest form, decoded back without content. Throws a plain
 * Error naming an unknown namespace or tag.
 */
export function encode(root: WbxmlElement): Uint8Array {
  const out = new ByteWriter(4096);
  out.bytes(EAS_HEADER);
  writeElement(new EncoderState(out), root, 0);
  return out.buf.subarray(0, out.length);
}
