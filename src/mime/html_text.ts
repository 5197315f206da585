/**
 * HTML to plain text (for EAS Preview and for clients that ask for plain text of an HTML-only
 * message) and plain text to HTML. A small linear scanner, not a browser: scripts, styles and
 * comments are dropped, block elements become line breaks, entities are decoded.
 *
 * @module
 */

/** Named entities that occur in mail; everything else numeric (`&#NN;`, `&#xHH;`) works too. */
const ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  sbquo: "‚",
  bdquo: "„",
  laquo: "«",
  raquo: "»",
  bull: "•",
  middot: "·",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  sect: "§",
  para: "¶",
  deg: "°",
  plusmn: "±",
  times: "×",
  divide: "÷",
  shy: "\u00ad",
  zwnj: "\u200c",
  zwj: "\u200d",
  thinsp: "\u2009",
  ensp: "\u2002",
  emsp: "\u2003",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  Ouml: "Ö",
  Uuml: "Ü",
  szlig: "ß",
  eacute: "é",
  egrave: "è",
  ecirc: "ê",
  Eacute: "É",
  aacute: "á",
  agrave: "à",
  acirc: "â",
  iacute: "í",
  oacute: "ó",
  uacute: "ú",
  ccedil: "ç",
  ntilde: "ñ",
  aring: "å",
  oslash: "ø",
  aelig: "æ",
};

/** Decodes HTML character references; unknown ones stay as written. */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(
    /&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?/g,
    (whole, body: string) => {
      if (body.startsWith("#")) {
        const code = body[1] === "x" || body[1] === "X"
          ? parseInt(body.slice(2), 16)
          : parseInt(body.slice(1), 10);
        if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
        return String.fromCodePoint(code);
      }
      return Object.hasOwn(ENTITIES, body) ? ENTITIES[body]! : whole;
    },
  );
}

/** Elements whose content is not text a reader sees. */
const SKIPPED = new Set(["script", "style", "title", "template", "noscript", "xml", "object", "svg"]);
/** Elements that start and end a line. */
const BLOCKS = new Set([
  "p",
  "div",
  "tr",
  "table",
  "ul",
  "ol",
  "dl",
  "dt",
  "dd",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "blockquote",
  "pre",
  "section",
  "article",
  "header",
  "footer",
  "address",
  "center",
  "form",
]);

/** Offset after the tag that starts at `start` (`<` ... `>`), skipping quoted attribute values. */
function tagEnd(html: string, start: number): number {
  let quote = "";
  for (let i = start + 1; i < html.length; i++) {
    const char = html[i]!;
    if (quote) {
      if (char === quote) quote = "";
    } else if (char === '"' || char === "'") {
      // Quotes only count inside attributes (after "=" and blanks), not in broken markup.
      if (/=\s*$/.test(html.slice(Math.max(start, i - 8), i))) quote = char;
    } else if (char === ">") return i + 1;
  }
  return html.length;
}

/**
 * Converts HTML to readable plain text: no tags, scripts or styles; block elements and `<br>`
 * become line breaks, list items start with "- ", whitespace is collapsed outside `<pre>`,
 * at most one empty line in a row.
 */
export function htmlToText(html: string): string {
  const lower = html.toLowerCase();
  let out = "";
  let pre = 0;
  let i = 0;
  const text = (chunk: string) => {
    const decoded = decodeEntities(chunk);
    if (pre > 0) out += decoded;
    else {
      const collapsed = decoded.replace(/[ \t\r\n\f]+/g, " ");
      const last = out[out.length - 1];
      out += last === undefined || last === "\n" || last === " " ? collapsed.replace(/^ /, "") : collapsed;
    }
  };
  const trimEnd = () => {
    let end = out.length;
    while (end > 0 && out[end - 1] === " ") end--;
    out = out.slice(0, end);
  };
  const newline = () => {
    trimEnd();
    if (out && !out.endsWith("\n")) out += "\n";
  };
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      text(html.slice(i));
      break;
    }
    if (lt > i) text(html.slice(i, lt));
    if (html.startsWith("<!--", lt)) {
      const close = html.indexOf("-->", lt + 4);
      i = close < 0 ? html.length : close + 3;
      continue;
    }
    const match = /^<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)/.exec(html.slice(lt, lt + 40));
    if (!match) {
      if (html[lt + 1] === "!" || html[lt + 1] === "?") {
        i = tagEnd(html, lt);
      } else {
        text("<");
        i = lt + 1;
      }
      continue;
    }
    const closing = match[1] === "/";
    const name = match[2]!.toLowerCase();
    i = tagEnd(html, lt);
    if (!closing && SKIPPED.has(name) && !html.slice(lt, i).endsWith("/>")) {
      const close = lower.indexOf(`</${name}`, i);
      i = close < 0 ? html.length : tagEnd(html, close);
      continue;
    }
    if (name === "br") {
      trimEnd();
      out += "\n";
    } else if (name === "li") {
      newline();
      if (!closing) out += "- ";
    } else if (name === "hr") {
      newline();
      out += "----\n";
    } else if (name === "td" || name === "th") {
      if (closing) out += " ";
    } else if (BLOCKS.has(name)) {
      newline();
      if (name === "p" && closing) out += "\n";
      if (name === "pre") pre = Math.max(0, pre + (closing ? -1 : 1));
    }
  }
  return out.split("\n").map((line) => line.replace(/[ \t\u00a0]+$/, "")).join("\n")
    .replace(/\n{3,}/g, "\n\n").trim();
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Converts plain text to an HTML fragment: escaped, line breaks as `<br>`, leading blanks kept. */
export function textToHtml(text: string): string {
  return text.replace(/\r\n?/g, "\n").split("\n").map((line) =>
    escapeHtml(line).replace(/^ +/, (spaces) => "&nbsp;".repeat(spaces.length)).replace(/ {2}/g, " &nbsp;")
  ).join("<br>\n");
}
