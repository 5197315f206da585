/**
 * XML form of EAS trees, as Debian's wbxml2xml writes it: the root carries a
 * default namespace (`xmlns="AirSync:"`), and each element whose code page
 * differs from its parent's carries its own `xmlns="Page:"`.
 *
 * Opaque content is written as base64. In the elements that are binary by
 * definition ({@link BINARY_ELEMENTS}: ComposeMail:Mime, ConversationId, ...)
 * that is all, exactly like libwbxml; in any other element the start tag also
 * gets `opaque="base64"` so that {@link fromXml} restores bytes, not text.
 * Conversely a string (STR_I) in a binary element (GAL:Data carries base64
 * text in EAS) gets `opaque="none"`, so it is not read back as base64.
 */
import {
  BINARY_ELEMENTS,
  LIBWBXML_NAMES,
  LIBWBXML_NAMESPACES,
  PAGE_BY_NAMESPACE,
  TAG_CODES,
} from "./codepages/mod.ts";
import { decode } from "./decode.ts";
import { WbxmlSyntaxError } from "./errors.ts";
import type { WbxmlElement } from "./tree.ts";

/** Options of {@link toXml}. */
export interface ToXmlOptions {
  /** Replace secrets (passwords, bodies, MIME, attachment data) by their size. */
  redact?: boolean;
  /** Tag names to write: the spec's (default) or libwbxml's, for comparing with wbxml2xml. */
  names?: "spec" | "libwbxml";
  /** Indentation per level; "" writes everything on one line. Default two spaces. */
  indent?: string;
  /** Write the XML declaration and the ActiveSync DOCTYPE first (default true). */
  prolog?: boolean;
}

/**
 * Elements whose content is a secret or private content, hidden by
 * `redact`: passwords (MS-ASCMD Settings/ItemOperations/Search Password,
 * Provision policy Data is not secret), message bodies and MIME, attachment
 * and picture data.
 */
export const REDACTED_ELEMENTS: ReadonlySet<string> = new Set([
  "Settings:Password",
  "ItemOperations:Password",
  "Search:Password",
  "ComposeMail:Mime",
  "AirSyncBase:Data",
  "AirSyncBase:Content",
  "Email:Body",
  "Email:MIMEData",
  "Calendar:Body",
  "Contacts:Body",
  "Contacts:Picture",
  "Tasks:Body",
  "ItemOperations:Data",
  "GAL:Data",
  "GAL:Picture",
  "ResolveRecipients:Data",
  "Search:Picture",
  "Find:Picture",
  "RightsManagement:RightsManagementLicense",
]);

/** The XML prolog wbxml2xml writes for EAS documents. */
export const XML_PROLOG = `<?xml version="1.0" encoding="utf-8"?>\n` +
  `<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">\n`;

const SPEC_TO_LIBWBXML = new Map(LIBWBXML_NAMES.map(([ns, lib, spec]) => [`${ns}:${spec}`, lib]));
const LIBWBXML_TO_SPEC = new Map(LIBWBXML_NAMES.map(([ns, lib, spec]) => [`${ns}:${lib}`, spec]));
const NAMESPACE_TO_LIBWBXML = new Map([...LIBWBXML_NAMESPACES].map(([lib, spec]) => [spec, lib]));

function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;"));
}

function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x6000) {
    out += btoa(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x6000) as unknown as number[]));
  }
  return out;
}

function contentSize(element: WbxmlElement): number {
  if (element.opaque) return element.opaque.length;
  if (element.text !== undefined) return new TextEncoder().encode(element.text).length;
  return 0;
}

/**
 * Renders a tree, or raw WBXML bytes (decoded first; a decoding error
 * propagates as {@link WbxmlSyntaxError}), as XML for logs and traces.
 */
export function toXml(treeOrBytes: WbxmlElement | Uint8Array, options: ToXmlOptions = {}): string {
  const root = treeOrBytes instanceof Uint8Array ? decode(treeOrBytes) : treeOrBytes;
  const indent = options.indent ?? "  ";
  const newline = indent === "" ? "" : "\n";
  const libNames = options.names === "libwbxml";
  const parts: string[] = [];
  if (options.prolog ?? true) parts.push(XML_PROLOG);
  const write = (element: WbxmlElement, parentNs: string | undefined, depth: number): void => {
    const key = `${element.ns}:${element.name}`;
    const name = (libNames ? SPEC_TO_LIBWBXML.get(key) : undefined) ?? element.name;
    const ns = libNames ? NAMESPACE_TO_LIBWBXML.get(element.ns) ?? element.ns : element.ns;
    let start = `${indent.repeat(depth)}<${name}`;
    if (element.ns !== parentNs) start += ` xmlns="${ns}:"`;
    const children = element.children;
    if (children && children.length > 0) {
      parts.push(`${start}>${newline}`);
      for (const c of children) write(c, element.ns, depth + 1);
      parts.push(`${indent.repeat(depth)}</${name}>${newline}`);
      return;
    }
    if (options.redact && REDACTED_ELEMENTS.has(key) && (element.text || element.opaque?.length)) {
      parts.push(`${start}><!-- redacted ${contentSize(element)} bytes --></${name}>${newline}`);
      return;
    }
    if (element.opaque !== undefined && element.opaque.length > 0) {
      const attribute = BINARY_ELEMENTS.has(key) ? "" : ` opaque="base64"`;
      parts.push(`${start}${attribute}>${base64(element.opaque)}</${name}>${newline}`);
    } else if (element.text !== undefined && element.text !== "") {
      const attribute = BINARY_ELEMENTS.has(key) ? ` opaque="none"` : "";
      parts.push(`${start}${attribute}>${escapeText(element.text)}</${name}>${newline}`);
    } else {
      parts.push(`${start}/>${newline}`);
    }
  };
  write(root, undefined, 0);
  return parts.join("");
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(text: string, offset: number): string {
  if (!text.includes("&")) return text;
  return text.replace(/&([^;\s&]{0,10});?/g, (match, body: string) => {
    if (!match.endsWith(";")) throw new WbxmlSyntaxError(`Unterminated entity "${match}"`, offset, "';'");
    if (body in ENTITIES) return ENTITIES[body]!;
    const code = body.startsWith("#x")
      ? parseInt(body.slice(2), 16)
      : body.startsWith("#")
      ? parseInt(body.slice(1), 10)
      : NaN;
    if (!Number.isInteger(code) || code < 1 || code > 0x10FFFF) {
      throw new WbxmlSyntaxError(`Unknown entity "${match}"`, offset, "a predefined or numeric entity");
    }
    return String.fromCodePoint(code);
  });
}

function fromBase64(text: string, offset: number): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  try {
    const raw = atob(clean);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  } catch {
    throw new WbxmlSyntaxError("Invalid base64 in opaque content", offset, "base64 text");
  }
}

interface Open {
  element: WbxmlElement;
  qname: string;
  scope: Map<string, string>;
  opaque: boolean;
  text: string;
  textAt: number;
}

/**
 * Parses the XML form back into a tree (for the encode CLI and tests).
 * Accepts spec names and libwbxml's names (`Recurrence_Type`, `Gal:`, ...),
 * default or prefixed namespaces, CDATA, comments and the usual entities.
 * Content of binary elements (unless marked `opaque="none"`), and of
 * elements marked `opaque="base64"`, is base64. Whitespace-only text between child elements is ignored. Errors are
 * {@link WbxmlSyntaxError} with the character offset.
 */
export function fromXml(xml: string): WbxmlElement {
  let pos = 0;
  const len = xml.length;
  const stack: Open[] = [];
  let root: WbxmlElement | undefined;
  const fail = (message: string, expected: string, at = pos): never => {
    throw new WbxmlSyntaxError(message, at, expected);
  };
  const resolveNamespace = (raw: string, at: number): string => {
    const bare = raw.endsWith(":") ? raw.slice(0, -1) : raw;
    const ns = LIBWBXML_NAMESPACES.get(bare) ?? bare;
    if (!PAGE_BY_NAMESPACE.has(ns)) fail(`Unknown namespace "${raw}"`, "an EAS code page namespace", at);
    return ns;
  };
  const appendText = (text: string, at: number): void => {
    const top = stack[stack.length - 1];
    if (!top) {
      if (text.trim() !== "") fail("Text outside the root element", "'<'", at);
      return;
    }
    if (top.text === "") top.textAt = at;
    top.text += text;
  };
  while (pos < len) {
    const lt = xml.indexOf("<", pos);
    if (lt < 0) {
      appendText(decodeEntities(xml.slice(pos), pos), pos);
      pos = len;
      break;
    }
    if (lt > pos) appendText(decodeEntities(xml.slice(pos, lt), pos), pos);
    pos = lt;
    if (xml.startsWith("<?", pos)) {
      const end = xml.indexOf("?>", pos);
      if (end < 0) fail("Unterminated processing instruction", "'?>'");
      pos = end + 2;
    } else if (xml.startsWith("<!--", pos)) {
      const end = xml.indexOf("-->", pos);
      if (end < 0) fail("Unterminated comment", "'-->'");
      pos = end + 3;
    } else if (xml.startsWith("<![CDATA[", pos)) {
      const end = xml.indexOf("]]>", pos);
      if (end < 0) fail("Unterminated CDATA section", "']]>'");
      appendText(xml.slice(pos + 9, end), pos);
      pos = end + 3;
    } else if (xml.startsWith("<!DOCTYPE", pos)) {
      const end = xml.indexOf(">", pos);
      if (end < 0 || xml.lastIndexOf("[", end) > pos) {
        fail("Unsupported DOCTYPE", "a DOCTYPE without an internal subset");
      }
      pos = end + 1;
    } else if (xml.startsWith("</", pos)) {
      const end = xml.indexOf(">", pos);
      if (end < 0) fail("Unterminated end tag", "'>'");
      const qname = xml.slice(pos + 2, end).trim();
      const top = stack.pop();
      if (!top) fail(`Unexpected end tag "${qname}"`, "a start tag");
      if (top!.qname !== qname) fail(`End tag "${qname}" does not match "${top!.qname}"`, `</${top!.qname}>`);
      finish(top!);
      pos = end + 1;
    } else {
      const match =
        /^<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/
          .exec(
            xml.slice(pos, pos + 4096),
          );
      if (!match) fail("Malformed start tag", "a start tag such as <Sync>");
      const [whole, qname, attributeText, selfClosing] = match!;
      const parent = stack[stack.length - 1];
      if (!parent && root) fail("More than one root element", "end of document");
      const scope = new Map(parent?.scope ?? []);
      let opaque: boolean | undefined;
      for (const a of attributeText!.matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        const [, attrName, v1, v2] = a;
        const value = decodeEntities(v1 ?? v2 ?? "", pos);
        if (attrName === "xmlns") scope.set("", resolveNamespace(value, pos));
        else if (attrName!.startsWith("xmlns:")) scope.set(attrName!.slice(6), resolveNamespace(value, pos));
        else if (attrName === "opaque" && (value === "base64" || value === "none")) {
          opaque = value === "base64";
        } else {fail(
            `Unsupported attribute "${attrName}"`,
            `no attributes besides xmlns and opaque="base64" or "none"`,
          );}
      }
      const colon = qname!.indexOf(":");
      const prefix = colon < 0 ? "" : qname!.slice(0, colon);
      const local = colon < 0 ? qname! : qname!.slice(colon + 1);
      const ns = scope.get(prefix);
      if (ns === undefined) {
        fail(`No namespace for "${qname}"`, `an xmlns${prefix ? `:${prefix}` : ""} declaration`);
      }
      const name = TAG_CODES.has(`${ns}:${local}`) ? local : LIBWBXML_TO_SPEC.get(`${ns}:${local}`);
      if (name === undefined) fail(`Unknown tag "${local}" in namespace "${ns}"`, "a tag of MS-ASWBXML");
      const element: WbxmlElement = { ns: ns!, name: name! };
      const open: Open = {
        element,
        qname: qname!,
        scope,
        opaque: opaque ?? BINARY_ELEMENTS.has(`${ns}:${name}`),
        text: "",
        textAt: pos,
      };
      if (parent) {
        if (parent.text.trim() !== "") {
          fail(`Mixed content in "${parent.qname}"`, "text or child elements, not both");
        }
        parent.text = "";
        (parent.element.children ??= []).push(element);
      } else {
        root = element;
      }
      pos += whole!.length;
      if (selfClosing) finish(open);
      else stack.push(open);
    }
  }
  if (stack.length > 0) fail(`Element "${stack[stack.length - 1]!.qname}" is not closed`, "an end tag");
  if (!root) fail("No root element", "an element");
  return root!;

  function finish(open: Open): void {
    if (open.element.children) {
      if (open.text.trim() !== "") {
        fail(`Mixed content in "${open.qname}"`, "text or child elements, not both", open.textAt);
      }
      return;
    }
    if (open.text === "") return;
    if (!open.opaque) {
      open.element.text = open.text;
      return;
    }
    const bytes = fromBase64(open.text, open.textAt);
    // Like decode(), no bytes means no content.
    if (bytes.length > 0) open.element.opaque = bytes;
  }
}
