/**
 * Content lines and components of iCalendar (RFC 5545 3.1, 3.4) and vCard
 * (RFC 6350 3.3, RFC 2426 2.4, which share the syntax). Values are kept as
 * written (escaped); `textValue`/`escapeText` convert text values. Unknown
 * properties and parameters survive a parse/serialise round trip, so a merge
 * of the phone's fields into a stored item keeps everything else intact.
 */

/** One property: `GROUP.NAME;PARAM=a,b:value`. Names are upper-cased; values raw. */
export interface Property {
  name: string;
  params: Record<string, string[]>;
  value: string;
  /** vCard group prefix ("item1" of "item1.EMAIL"). */
  group?: string;
}

/** A component (`BEGIN:VEVENT` ... `END:VEVENT`) with its properties and subcomponents. */
export interface Component {
  name: string;
  properties: Property[];
  components: Component[];
}

/** A malformed iCalendar or vCard text; `line` is 1-based in the unfolded text. */
export class CalendarSyntaxError extends SyntaxError {
  constructor(message: string, readonly line: number) {
    super(`${message} (line ${line})`);
    this.name = "CalendarSyntaxError";
  }
}

/** Longest line in octets before folding (RFC 5545 3.1, RFC 6350 3.2). */
export const FOLD_OCTETS = 75;

/** Parses every top-level component of a text (a VCALENDAR, or one or more VCARDs). */
export function parseComponents(text: string): Component[] {
  const lines = unfold(text);
  const roots: Component[] = [];
  const stack: Component[] = [];
  lines.forEach((line, index) => {
    if (line === "") return;
    const property = parseLine(line, index + 1);
    if (property.name === "BEGIN") {
      const component: Component = { name: property.value.toUpperCase(), properties: [], components: [] };
      const parent = stack.at(-1);
      if (parent) parent.components.push(component);
      else roots.push(component);
      stack.push(component);
    } else if (property.name === "END") {
      const open = stack.pop();
      if (!open || open.name !== property.value.toUpperCase()) {
        throw new CalendarSyntaxError(
          `END:'${property.value}' does not close '${open?.name ?? ""}'`,
          index + 1,
        );
      }
    } else {
      const open = stack.at(-1);
      if (!open) throw new CalendarSyntaxError(`Property '${property.name}' outside a component`, index + 1);
      open.properties.push(property);
    }
  });
  if (stack.length) {
    throw new CalendarSyntaxError(`Component '${stack.at(-1)!.name}' is not closed`, lines.length);
  }
  return roots;
}

/** Parses a text that must hold exactly one component named `name`. */
export function parseOne(text: string, name: string): Component {
  const roots = parseComponents(text);
  const found = roots.find((c) => c.name === name);
  if (!found) throw new CalendarSyntaxError(`No '${name}' component`, 1);
  return found;
}

/** Unfolds lines (CRLF or LF followed by a space or tab continues the line). */
export function unfold(text: string): string[] {
  return text.replace(/^\uFEFF/, "").replace(/\r?\n[ \t]/g, "").split(/\r?\n/);
}

/** Parses one unfolded content line. */
export function parseLine(line: string, lineNumber = 1): Property {
  let i = 0;
  const nameMatch = /^([A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)/.exec(line);
  if (!nameMatch) {
    throw new CalendarSyntaxError(`Line '${line.slice(0, 40)}' has no property name`, lineNumber);
  }
  i = nameMatch[0].length;
  const property: Property = { name: nameMatch[2]!.toUpperCase(), params: {}, value: "" };
  if (nameMatch[1]) property.group = nameMatch[1].slice(0, -1);
  while (line[i] === ";") {
    i++;
    const eq = line.indexOf("=", i);
    const stop = line.slice(i).search(/[;:]/);
    if (eq < 0 || (stop >= 0 && i + stop < eq)) {
      // vCard 2.1 style bare parameter ("TEL;CELL:"): a TYPE value.
      const end = stop < 0 ? line.length : i + stop;
      (property.params.TYPE ??= []).push(line.slice(i, end));
      i = end;
      continue;
    }
    const pname = line.slice(i, eq).toUpperCase();
    i = eq + 1;
    const values: string[] = [];
    for (;;) {
      if (line[i] === '"') {
        const close = line.indexOf('"', i + 1);
        if (close < 0) throw new CalendarSyntaxError(`Unclosed quote in parameter '${pname}'`, lineNumber);
        values.push(line.slice(i + 1, close));
        i = close + 1;
      } else {
        const rest = line.slice(i).search(/[;:,]/);
        const end = rest < 0 ? line.length : i + rest;
        values.push(line.slice(i, end));
        i = end;
      }
      if (line[i] === ",") {
        i++;
        continue;
      }
      break;
    }
    (property.params[pname] ??= []).push(...values.map(unescapeParam));
  }
  if (line[i] !== ":") {
    throw new CalendarSyntaxError(`Property '${property.name}' has no ':' before its value`, lineNumber);
  }
  property.value = line.slice(i + 1);
  return property;
}

/** Writes components with CRLF line ends, folded at 75 octets without splitting a character. */
export function serialize(component: Component): string {
  const out: string[] = [];
  write(component, out);
  return out.join("");
}

function write(component: Component, out: string[]): void {
  out.push(`BEGIN:${component.name}\r\n`);
  for (const p of component.properties) out.push(fold(formatLine(p)));
  for (const c of component.components) write(c, out);
  out.push(`END:${component.name}\r\n`);
}

/** One property as an unfolded content line. */
export function formatLine(p: Property): string {
  let line = p.group ? `${p.group}.${p.name}` : p.name;
  for (const [name, values] of Object.entries(p.params)) {
    line += `;${name}=${values.map(formatParam).join(",")}`;
  }
  return `${line}:${p.value}`;
}

/** Folds a line: at most 75 octets per line, continuation lines start with a space. */
export function fold(line: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(line).length <= FOLD_OCTETS) return `${line}\r\n`;
  let out = "";
  let current = "";
  let octets = 0;
  let limit = FOLD_OCTETS;
  for (const ch of line) {
    const size = encoder.encode(ch).length;
    if (octets + size > limit) {
      out += `${current}\r\n `;
      current = "";
      octets = 0;
      limit = FOLD_OCTETS - 1;
    }
    current += ch;
    octets += size;
  }
  return `${out}${current}\r\n`;
}

function formatParam(value: string): string {
  // RFC 6868 caret escapes for characters a parameter cannot hold.
  const escaped = value.replace(/\^/g, "^^").replace(/\r?\n/g, "^n").replace(/"/g, "^'");
  return /[;:,]/.test(escaped) ? `"${escaped}"` : escaped;
}

function unescapeParam(value: string): string {
  return value.replace(/\^(\^|n|')/g, (_, c: string) => c === "n" ? "\n" : c === "'" ? '"' : "^");
}

/** Unescapes a TEXT value (RFC 5545 3.3.11): `\n`, `\,`, `\;`, `\\`. */
export function textValue(value: string): string {
  return value.replace(/\\([nN,;\\:])/g, (_, c: string) => (c === "n" || c === "N") ? "\n" : c);
}

/** Escapes a TEXT value; CRLF and CR become `\n`. */
export function escapeText(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/;/g, "\\;").replace(/,/g, "\\,").replace(/\r\n|\r|\n/g, "\\n");
}

/** Splits a structured or list value at unescaped `sep` and unescapes the parts. */
export function splitValue(value: string, sep: "," | ";"): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\\" && i + 1 < value.length) {
      current += c + value[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(current);
      current = "";
    } else current += c;
  }
  parts.push(current);
  return parts.map(textValue);
}

/** The first property named `name`, or undefined. */
export function prop(c: Component, name: string): Property | undefined {
  return c.properties.find((p) => p.name === name);
}

/** Every property named `name`. */
export function props(c: Component, name: string): Property[] {
  return c.properties.filter((p) => p.name === name);
}

/** The unescaped text of the first property named `name`. */
export function text(c: Component, name: string): string | undefined {
  const p = prop(c, name);
  return p ? textValue(p.value) : undefined;
}

/** The first value of a parameter, or undefined. */
export function param(p: Property, name: string): string | undefined {
  return p.params[name]?.[0];
}

/** Removes every property named one of `names`. */
export function removeProps(c: Component, ...names: string[]): void {
  c.properties = c.properties.filter((p) => !names.includes(p.name));
}

/**
 * Replaces the properties named `name` by `replacement` at the place of the
 * first one (or at the end), so the order of the stored item is kept.
 */
export function setProps(c: Component, name: string, replacement: Property[]): void {
  const at = c.properties.findIndex((p) => p.name === name);
  const kept = c.properties.filter((p) => p.name !== name);
  if (at < 0) kept.push(...replacement);
  else kept.splice(Math.min(at, kept.length), 0, ...replacement);
  c.properties = kept;
}

/** Sets one text property (escaped), or removes it when `value` is undefined or empty. */
export function setText(c: Component, name: string, value: string | undefined, params = {}): void {
  setProps(c, name, value ? [{ name, params, value: escapeText(value) }] : []);
}

/** A new property with a raw value. */
export function property(name: string, value: string, params: Record<string, string[]> = {}): Property {
  return { name, params, value };
}
