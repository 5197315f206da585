/**
 * The typed tree every EAS handler reads and writes. EAS never uses mixed
 * content or attributes (MS-ASWBXML 2.1.2.1.1), so an element carries either
 * child elements, a string (STR_I), opaque bytes (OPAQUE), or nothing.
 *
 * `ns` is the code page name exactly as MS-ASWBXML spells it ("AirSync",
 * "FolderHierarchy", "AirSyncBase", ...), `name` the tag name as the spec
 * spells it.
 */
export interface WbxmlElement {
  ns: string;
  name: string;
  children?: WbxmlElement[];
  text?: string;
  /** Binary content (MIME, ConversationId, pictures); never copied through strings. */
  opaque?: Uint8Array;
}

/** Builds an element with child elements; `undefined` children are skipped so optional fields read naturally. */
export function el(
  ns: string,
  name: string,
  ...children: (WbxmlElement | undefined | null | false)[]
): WbxmlElement {
  const kept = children.filter((c): c is WbxmlElement => !!c);
  return kept.length ? { ns, name, children: kept } : { ns, name };
}

/** Builds an element holding a string; numbers and booleans are written as EAS expects ("1"/"0" for booleans). */
export function textEl(ns: string, name: string, value: string | number | boolean): WbxmlElement {
  const text = typeof value === "boolean" ? (value ? "1" : "0") : String(value);
  return { ns, name, text };
}

/** Builds an element holding opaque bytes. */
export function opaqueEl(ns: string, name: string, bytes: Uint8Array): WbxmlElement {
  return { ns, name, opaque: bytes };
}

/** First child with this name (and namespace, when given). */
export function child(parent: WbxmlElement | undefined, name: string, ns?: string): WbxmlElement | undefined {
  return parent?.children?.find((c) => c.name === name && (ns === undefined || c.ns === ns));
}

/** All children with this name (and namespace, when given). */
export function childrenNamed(parent: WbxmlElement | undefined, name: string, ns?: string): WbxmlElement[] {
  return parent?.children?.filter((c) => c.name === name && (ns === undefined || c.ns === ns)) ?? [];
}

/** Text of the first child with this name; opaque content is decoded as UTF-8. */
export function childText(parent: WbxmlElement | undefined, name: string, ns?: string): string | undefined {
  const c = child(parent, name, ns);
  if (!c) return undefined;
  return elementText(c);
}

/** Text content of an element ("" for an empty tag); opaque content is decoded as UTF-8. */
export function elementText(element: WbxmlElement): string {
  if (element.text !== undefined) return element.text;
  if (element.opaque !== undefined) return new TextDecoder().decode(element.opaque);
  return "";
}
