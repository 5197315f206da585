/**
 * The phone's Out of Office setting as a managed block of the user's active
 * Sieve script: a vacation rule (RFC 5230) with an optional date range
 * (RFC 5260 currentdate), inserted without touching the user's other rules.
 * The EAS settings themselves ride along as a JSON comment, so Get returns
 * exactly what was Set even where Sieve can only approximate it.
 *
 * @module
 */

import type { OofMessage, OofSettings } from "../../eas/commands/settings.ts";

/** Markers of the managed parts; everything between begin and end is replaced on each Set. */
const MARK = {
  require: "# pushbridge:require",
  begin: "# pushbridge:begin vacation (managed by Pushbridge from the phone's Out of Office setting)",
  end: "# pushbridge:end vacation",
  settings: "# pushbridge:oof ",
} as const;

/** Seconds-precision UTC bound compared as text against currentdate's iso8601 part in zone +0000. */
function isoBound(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`'${iso}' is not a date`);
  return date.toISOString().slice(0, 19);
}

/** A Sieve quoted string (RFC 5228 2.4.2: only '"' and '\' are escaped; line breaks may stand). */
export function sieveString(text: string): string {
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\r?\n/g, "\r\n")}"`;
}

function sieveList(items: string[]): string {
  return `[${items.map(sieveString).join(", ")}]`;
}

/** Who the vacation rule answers for and which sender domains count as internal. */
export interface VacationContext {
  /** The user's addresses (primary and aliases): replies only to mail sent to one of them. */
  addresses: string[];
  /** Sender domains treated as internal (AppliesToInternal). */
  internalDomains: string[];
}

function vacationAction(message: OofMessage, context: VacationContext): string {
  const days = ":days 1";
  const addresses = context.addresses.length ? ` :addresses ${sieveList(context.addresses)}` : "";
  if (message.bodyType === "HTML") {
    const mime = `Content-Type: text/html; charset=utf-8\r\n\r\n${message.reply}`;
    return `vacation ${days}${addresses} :mime ${sieveString(mime)};`;
  }
  return `vacation ${days}${addresses} ${sieveString(message.reply)};`;
}

/**
 * The rules for the settings, or "" when nothing is to be sent. ExternalKnown
 * (senders in the user's contacts) cannot be told apart in Sieve, so one
 * external message answers all external senders: the ExternalUnknown one when
 * enabled, else the ExternalKnown one.
 */
export function vacationRules(settings: OofSettings, context: VacationContext): string {
  if (settings.state === 0) return "";
  const internal = settings.internal?.enabled ? settings.internal : undefined;
  const external = settings.externalUnknown?.enabled
    ? settings.externalUnknown
    : settings.externalKnown?.enabled
    ? settings.externalKnown
    : undefined;
  if (!internal && !external) return "";
  const isInternal = `address :domain :is "from" ${sieveList(context.internalDomains)}`;
  let body: string;
  if (internal && external && context.internalDomains.length) {
    body = `if ${isInternal} {\n  ${vacationAction(internal, context)}\n} else {\n  ${
      vacationAction(external, context)
    }\n}`;
  } else if (internal && external) {
    body = vacationAction(external, context);
  } else if (internal) {
    body = context.internalDomains.length
      ? `if ${isInternal} {\n  ${vacationAction(internal, context)}\n}`
      : "";
  } else {
    body = context.internalDomains.length
      ? `if not ${isInternal} {\n  ${vacationAction(external!, context)}\n}`
      : vacationAction(external!, context);
  }
  if (!body) return "";
  if (settings.state === 2) {
    if (!settings.startTime || !settings.endTime) {
      throw new RangeError("A time-based Out of Office needs StartTime and EndTime");
    }
    const range =
      `allof (currentdate :zone "+0000" :value "ge" "iso8601" ${
        sieveString(isoBound(settings.startTime))
      }, ` +
      `currentdate :zone "+0000" :value "lt" "iso8601" ${sieveString(isoBound(settings.endTime))})`;
    // Not re-indented: a reply text may span lines inside its quoted string.
    return `if ${range} {\n${body}\n}`;
  }
  return body;
}

/** The Out of Office settings stored in a script by mergeVacation, if any. */
export function readVacation(script: string | undefined): OofSettings | undefined {
  if (!script) return undefined;
  const line = script.split(/\r?\n/).find((l) => l.startsWith(MARK.settings));
  if (!line) return undefined;
  try {
    const parsed = JSON.parse(line.slice(MARK.settings.length)) as OofSettings;
    return typeof parsed === "object" && parsed && [0, 1, 2].includes(parsed.state) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The script without the managed parts (what the user wrote). */
export function stripVacation(script: string): string {
  const lines = script.split(/\r?\n/);
  const out: string[] = [];
  let inBlock = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === MARK.require) {
      i++; // the require line that follows the marker
      continue;
    }
    if (line === MARK.begin) inBlock = true;
    if (!inBlock) out.push(line);
    if (line === MARK.end) inBlock = false;
  }
  return out.join("\n");
}

/**
 * Where commands may start: after leading whitespace, comments and require
 * statements (RFC 5228 3.2: require must come before any other command).
 */
export function afterRequires(script: string): number {
  let i = 0;
  for (;;) {
    const rest = script.slice(i);
    const skip = /^(\s+|#[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)/.exec(rest);
    if (skip) {
      i += skip[0].length;
      continue;
    }
    const require = /^require\s*(\[[^\]]*\]|"(?:[^"\\]|\\.)*")\s*;/.exec(rest);
    if (require) {
      i += require[0].length;
      continue;
    }
    return i;
  }
}

/**
 * The user's script with the managed vacation block replaced by one for
 * `settings` (or removed when `settings` is undefined). The user's own rules
 * and requires stay as they were.
 */
export function mergeVacation(
  script: string | undefined,
  settings: OofSettings | undefined,
  context: VacationContext,
): string {
  const user = stripVacation(script ?? "");
  if (!settings) return user;
  const rules = vacationRules(settings, context);
  const block = [
    MARK.begin,
    `${MARK.settings}${JSON.stringify(settings)}`,
    ...(rules ? [rules] : []),
    MARK.end,
  ]
    .join("\n");
  const head = rules ? `${MARK.require}\nrequire ["vacation", "date", "relational"];\n` : "";
  const at = afterRequires(user);
  const before = user.slice(0, at);
  const after = user.slice(at);
  const gap = before && !before.endsWith("\n") ? "\n" : "";
  return `${head}${before}${gap}${block}\n${after}`;
}
