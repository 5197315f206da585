/**
 * The small XML reader WebDAV responses need (RFC 4918 multistatus): elements
 * with namespace URIs resolved, text with the predefined and numeric
 * entities, CDATA; no DTDs. Not a general XML parser.
 */

/** An element: `ns` is the namespace URI, `name` the local name. */
export interface XmlNode {
  ns: string;
  name: string;
  children: XmlNode[];
  text: string;
  /** Attributes by their written name (`name` of `<C:comp name="VEVENT"/>`). */
  attributes: Record<string, string>;
}

/** Parses an XML document into its root element. */
export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { ns: "", name: "#root", children: [], text: "", attributes: {} };
  const stack: { node: XmlNode; prefixes: Map<string, string> }[] = [{ node: root, prefixes: new Map() }];
  const re =
    /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/([^\s>]+)\s*>|<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  for (const m of xml.matchAll(re)) {
    const top = stack.at(-1)!;
    if (m[1] !== undefined) top.node.text += m[1];
    else if (m[2] !== undefined) {
      if (stack.length > 1) stack.pop();
    } else if (m[3] !== undefined) {
      const prefixes = new Map(top.prefixes);
      const attributes: Record<string, string> = {};
      const attrs = [...(m[4] ?? "").matchAll(/([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)];
      for (const a of attrs) {
        const value = decodeEntities(a[2] ?? a[3] ?? "");
        attributes[a[1]!] = value;
        if (a[1] === "xmlns") prefixes.set("", value);
        else if (a[1]!.startsWith("xmlns:")) prefixes.set(a[1]!.slice(6), value);
      }
      const [prefix, local] = m[3].includes(":") ? m[3].split(":", 2) as [string, string] : ["", m[3]];
      const node: XmlNode = {
        ns: prefixes.get(prefix) ?? "",
        name: local,
        children: [],
        text: "",
        attributes,
      };
      top.node.children.push(node);
      if (m[5] !== "/") stack.push({ node, prefixes });
    } else if (m[6] !== undefined) top.node.text += decodeEntities(m[6]);
  }
  const first = root.children[0];
  if (!first) throw new SyntaxError("XML document has no root element");
  return first;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, e: string) => {
    if (e.startsWith("#x")) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith("#")) return String.fromCodePoint(Number(e.slice(1)));
    return { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" }[e]!;
  });
}

/** Escapes text for an XML body. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Children with a namespace and local name. */
export function kids(node: XmlNode | undefined, ns: string, name: string): XmlNode[] {
  return node?.children.filter((c) => c.ns === ns && c.name === name) ?? [];
}

/** The first child with a namespace and local name. */
export function kid(node: XmlNode | undefined, ns: string, name: string): XmlNode | undefined {
  return node?.children.find((c) => c.ns === ns && c.name === name);
}

/** Namespaces of WebDAV and its extensions. */
export const NS = {
  DAV: "DAV:",
  CALDAV: "urn:ietf:params:xml:ns:caldav",
  CARDDAV: "urn:ietf:params:xml:ns:carddav",
  CS: "http://calendarserver.org/ns/",
  ICAL: "http://apple.com/ns/ical/",
} as const;
