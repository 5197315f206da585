/**
 * Time zones between EAS and iCalendar: the TIMEZONE_INFORMATION blob of
 * MS-ASDTYPE 2.7 (Bias, StandardName, StandardDate, StandardBias,
 * DaylightName, DaylightDate, DaylightBias; 172 bytes, base64), VTIMEZONE
 * components (RFC 5545 3.6.5) and IANA zone names (through Intl). A Zone
 * answers "what is the UTC offset at this instant", which is all the mapping
 * needs to turn local times into UTC and back.
 */
import { type Component, prop, property } from "./ical.ts";

/** A SYSTEMTIME (MS-ASDTYPE 2.7.1). With `year` 0 it is a yearly rule: `day` is the week (1-5, 5 = last). */
export interface SystemTime {
  year: number;
  month: number;
  dayOfWeek: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  milliseconds: number;
}

/** TIMEZONE_INFORMATION (MS-ASDTYPE 2.7). Biases in minutes: UTC = local + bias. */
export interface WindowsTimeZone {
  bias: number;
  standardName: string;
  standardDate: SystemTime;
  standardBias: number;
  daylightName: string;
  daylightDate: SystemTime;
  daylightBias: number;
}

/** A time zone the mapping can compute with. */
export interface Zone {
  /** The TZID written to iCalendar ("Europe/Berlin", "UTC", or a custom id). */
  id: string;
  /** Minutes to add to UTC to get local time at `utcMs`. */
  offsetAt(utcMs: number): number;
  /** The EAS blob of this zone (for the year of `utcMs`). */
  windows(utcMs: number): WindowsTimeZone;
}

/** Size of the encoded TIMEZONE_INFORMATION structure (MS-ASDTYPE 2.7). */
export const TIMEZONE_BLOB_BYTES = 172;

const EMPTY_TIME: SystemTime = {
  year: 0,
  month: 0,
  dayOfWeek: 0,
  day: 0,
  hour: 0,
  minute: 0,
  second: 0,
  milliseconds: 0,
};

/** A blob that is not a TIMEZONE_INFORMATION. */
export class TimeZoneBlobError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "TimeZoneBlobError";
  }
}

/** Decodes the base64 TIMEZONE_INFORMATION of Calendar:Timezone. */
export function decodeTimezoneBlob(base64: string): WindowsTimeZone {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(base64.trim()), (c) => c.charCodeAt(0));
  } catch {
    throw new TimeZoneBlobError(`Time zone '${base64.slice(0, 20)}' is not base64`);
  }
  if (bytes.length < TIMEZONE_BLOB_BYTES) {
    throw new TimeZoneBlobError(`Time zone blob has ${bytes.length} bytes, expected ${TIMEZONE_BLOB_BYTES}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = (at: number) => {
    let s = "";
    for (let i = 0; i < 32; i++) {
      const code = view.getUint16(at + i * 2, true);
      if (code === 0) break;
      s += String.fromCharCode(code);
    }
    return s;
  };
  const time = (at: number): SystemTime => ({
    year: view.getUint16(at, true),
    month: view.getUint16(at + 2, true),
    dayOfWeek: view.getUint16(at + 4, true),
    day: view.getUint16(at + 6, true),
    hour: view.getUint16(at + 8, true),
    minute: view.getUint16(at + 10, true),
    second: view.getUint16(at + 12, true),
    milliseconds: view.getUint16(at + 14, true),
  });
  return {
    bias: view.getInt32(0, true),
    standardName: name(4),
    standardDate: time(68),
    standardBias: view.getInt32(84, true),
    daylightName: name(88),
    daylightDate: time(152),
    daylightBias: view.getInt32(168, true),
  };
}

/** Encodes TIMEZONE_INFORMATION as base64 (names cut to 31 UTF-16 units plus the terminator). */
export function encodeTimezoneBlob(tz: WindowsTimeZone): string {
  const bytes = new Uint8Array(TIMEZONE_BLOB_BYTES);
  const view = new DataView(bytes.buffer);
  const name = (at: number, s: string) => {
    for (let i = 0; i < Math.min(s.length, 31); i++) view.setUint16(at + i * 2, s.charCodeAt(i), true);
  };
  const time = (at: number, t: SystemTime) => {
    [t.year, t.month, t.dayOfWeek, t.day, t.hour, t.minute, t.second, t.milliseconds].forEach((v, i) =>
      view.setUint16(at + i * 2, v, true)
    );
  };
  view.setInt32(0, tz.bias, true);
  name(4, tz.standardName);
  time(68, tz.standardDate);
  view.setInt32(84, tz.standardBias, true);
  name(88, tz.daylightName);
  time(152, tz.daylightDate);
  view.setInt32(168, tz.daylightBias, true);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Whether the zone has daylight saving time. */
export function hasDst(tz: WindowsTimeZone): boolean {
  return tz.daylightDate.month !== 0 && tz.standardDate.month !== 0 && tz.daylightBias !== tz.standardBias;
}

/** Day of the month of a SYSTEMTIME rule in `year` (week 5 = the last such weekday). */
export function ruleDay(year: number, t: SystemTime): number {
  if (t.year !== 0) return t.day;
  const days = new Date(Date.UTC(year, t.month, 0)).getUTCDate();
  const firstWeekday = new Date(Date.UTC(year, t.month - 1, 1)).getUTCDay();
  let day = 1 + (t.dayOfWeek - firstWeekday + 7) % 7 + (Math.min(Math.max(t.day, 1), 5) - 1) * 7;
  while (day > days) day -= 7;
  return day;
}

/** UTC instant of a rule's transition in `year`, given the bias in force before it. */
function transitionUtc(year: number, t: SystemTime, biasBefore: number): number {
  const local = Date.UTC(year, t.month - 1, ruleDay(year, t), t.hour, t.minute, t.second);
  return local + biasBefore * 60_000;
}

/** Minutes to add to UTC for local time under a Windows rule. */
export function windowsOffsetAt(tz: WindowsTimeZone, utcMs: number): number {
  if (!hasDst(tz)) return -(tz.bias + tz.standardBias);
  const year = new Date(utcMs - tz.bias * 60_000).getUTCFullYear();
  const start = transitionUtc(year, tz.daylightDate, tz.bias + tz.standardBias);
  const end = transitionUtc(year, tz.standardDate, tz.bias + tz.daylightBias);
  const dst = start < end ? utcMs >= start && utcMs < end : utcMs >= start || utcMs < end;
  return -(tz.bias + (dst ? tz.daylightBias : tz.standardBias));
}

/** The zone of a Windows rule; its id is `id` or a name derived from the rule. */
export function windowsZone(tz: WindowsTimeZone, id?: string): Zone {
  return {
    id: id ?? (tz.standardName || customId(tz)),
    offsetAt: (utcMs) => windowsOffsetAt(tz, utcMs),
    windows: () => tz,
  };
}

function customId(tz: WindowsTimeZone): string {
  const o = -tz.bias;
  const sign = o < 0 ? "-" : "+";
  const abs = Math.abs(o);
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}${String(abs % 60).padStart(2, "0")}${
    hasDst(tz) ? "-DST" : ""
  }`;
}

/** UTC as a zone (blob of all zeros but the name). */
export const UTC_ZONE: Zone = {
  id: "UTC",
  offsetAt: () => 0,
  windows: () => ({
    bias: 0,
    standardName: "UTC",
    standardDate: EMPTY_TIME,
    standardBias: 0,
    daylightName: "UTC",
    daylightDate: EMPTY_TIME,
    daylightBias: 0,
  }),
};

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether Intl knows an IANA zone name. */
export function isIanaZone(id: string): boolean {
  try {
    formatterOf(id);
    return true;
  } catch {
    return false;
  }
}

function formatterOf(id: string): Intl.DateTimeFormat {
  let f = formatters.get(id);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: id,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(id, f);
  }
  return f;
}

/** Offset in minutes of an IANA zone at an instant. */
export function ianaOffsetAt(id: string, utcMs: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatterOf(id).formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const local = Date.UTC(
    parts.year!,
    parts.month! - 1,
    parts.day!,
    parts.hour! % 24,
    parts.minute!,
    parts.second!,
  );
  return Math.round((local - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

/** An IANA zone (throws RangeError for an unknown name). */
export function ianaZone(id: string): Zone {
  formatterOf(id);
  const cache = new Map<number, WindowsTimeZone>();
  return {
    id,
    offsetAt: (utcMs) => ianaOffsetAt(id, utcMs),
    windows(utcMs) {
      const year = new Date(utcMs).getUTCFullYear();
      let tz = cache.get(year);
      if (!tz) cache.set(year, tz = windowsFromIana(id, year));
      return tz;
    },
  };
}

/** The Windows rule of an IANA zone in `year`, found by locating its transitions. */
export function windowsFromIana(id: string, year: number): WindowsTimeZone {
  const start = Date.UTC(year, 0, 1);
  const transitions: { at: number; before: number; after: number }[] = [];
  let previous = ianaOffsetAt(id, start);
  const day = 86_400_000;
  for (let t = start + day; t <= Date.UTC(year + 1, 0, 1); t += day) {
    const now = ianaOffsetAt(id, t);
    if (now !== previous) {
      let lo = t - day;
      let hi = t;
      while (hi - lo > 60_000) {
        const mid = Math.floor((lo + hi) / 120_000) * 60_000;
        if (ianaOffsetAt(id, mid) === previous) lo = mid;
        else hi = mid;
      }
      transitions.push({ at: hi, before: previous, after: now });
      previous = now;
    }
  }
  const name = id.length > 31 ? id.slice(-31) : id;
  const toDst = transitions.find((t) => t.after > t.before);
  const toStd = transitions.find((t) => t.after < t.before);
  if (!toDst || !toStd) {
    return { ...UTC_ZONE.windows(0), bias: -previous, standardName: name, daylightName: name };
  }
  const ruleOf = (t: { at: number; before: number }): SystemTime => {
    const local = new Date(t.at + t.before * 60_000);
    const d = local.getUTCDate();
    const days = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth() + 1, 0)).getUTCDate();
    return {
      ...EMPTY_TIME,
      month: local.getUTCMonth() + 1,
      dayOfWeek: local.getUTCDay(),
      day: d + 7 > days ? 5 : Math.ceil(d / 7),
      hour: local.getUTCHours(),
      minute: local.getUTCMinutes(),
    };
  };
  return {
    bias: -toStd.after,
    standardName: name,
    standardDate: ruleOf(toStd),
    standardBias: 0,
    daylightName: name,
    daylightDate: ruleOf(toDst),
    daylightBias: -(toDst.after - toStd.after),
  };
}

/** Common Windows zone names (CLDR windowsZones, territory 001) for blobs that name one. */
export const WINDOWS_TO_IANA: Readonly<Record<string, string>> = {
  "Dateline Standard Time": "Etc/GMT+12",
  "Hawaiian Standard Time": "Pacific/Honolulu",
  "Alaskan Standard Time": "America/Anchorage",
  "Pacific Standard Time": "America/Los_Angeles",
  "Mountain Standard Time": "America/Denver",
  "US Mountain Standard Time": "America/Phoenix",
  "Central Standard Time": "America/Chicago",
  "Eastern Standard Time": "America/New_York",
  "Atlantic Standard Time": "America/Halifax",
  "E. South America Standard Time": "America/Sao_Paulo",
  "SA Pacific Standard Time": "America/Bogota",
  "Argentina Standard Time": "America/Buenos_Aires",
  "Pacific SA Standard Time": "America/Santiago",
  "GMT Standard Time": "Europe/London",
  "Greenwich Standard Time": "Atlantic/Reykjavik",
  "W. Europe Standard Time": "Europe/Berlin",
  "Romance Standard Time": "Europe/Paris",
  "Central Europe Standard Time": "Europe/Budapest",
  "Central European Standard Time": "Europe/Warsaw",
  "GTB Standard Time": "Europe/Bucharest",
  "FLE Standard Time": "Europe/Kiev",
  "South Africa Standard Time": "Africa/Johannesburg",
  "Russian Standard Time": "Europe/Moscow",
  "Arabian Standard Time": "Asia/Dubai",
  "India Standard Time": "Asia/Calcutta",
  "China Standard Time": "Asia/Shanghai",
  "Singapore Standard Time": "Asia/Singapore",
  "Tokyo Standard Time": "Asia/Tokyo",
  "AUS Eastern Standard Time": "Australia/Sydney",
  "E. Australia Standard Time": "Australia/Brisbane",
  "Cen. Australia Standard Time": "Australia/Adelaide",
  "New Zealand Standard Time": "Pacific/Auckland",
  "UTC": "UTC",
  "Coordinated Universal Time": "UTC",
};

/** Whether two rules describe the same clock (names aside). */
export function sameRule(a: WindowsTimeZone, b: WindowsTimeZone): boolean {
  if (a.bias + a.standardBias !== b.bias + b.standardBias) return false;
  if (hasDst(a) !== hasDst(b)) return false;
  if (!hasDst(a)) return true;
  const same = (x: SystemTime, y: SystemTime) =>
    x.month === y.month && x.dayOfWeek === y.dayOfWeek && x.day === y.day && x.hour === y.hour &&
    x.minute === y.minute;
  return a.bias + a.daylightBias === b.bias + b.daylightBias && same(a.standardDate, b.standardDate) &&
    same(a.daylightDate, b.daylightDate);
}

const matchCache = new Map<string, string | null>();

/**
 * The IANA zone of a blob from a phone: its StandardName when that is an
 * IANA name or a known Windows name whose rule matches, else the first IANA
 * zone with the same rule this year; undefined when none matches.
 */
export function ianaForWindows(tz: WindowsTimeZone, year = new Date().getUTCFullYear()): string | undefined {
  const key = `${encodeTimezoneBlob(tz)}|${year}`;
  const cached = matchCache.get(key);
  if (cached !== undefined) return cached ?? undefined;
  const named = [tz.standardName, WINDOWS_TO_IANA[tz.standardName], WINDOWS_TO_IANA[tz.daylightName]];
  let found: string | undefined;
  for (const name of named) {
    if (name && isIanaZone(name) && sameRule(windowsFromIana(name, year), tz)) {
      found = name;
      break;
    }
  }
  if (!found) {
    const jan = Date.UTC(year, 0, 15);
    const jul = Date.UTC(year, 6, 15);
    const wantJan = windowsOffsetAt(tz, jan);
    const wantJul = windowsOffsetAt(tz, jul);
    for (const id of Intl.supportedValuesOf("timeZone")) {
      if (ianaOffsetAt(id, jan) !== wantJan || ianaOffsetAt(id, jul) !== wantJul) continue;
      if (sameRule(windowsFromIana(id, year), tz)) {
        found = id;
        break;
      }
    }
  }
  matchCache.set(key, found ?? null);
  return found;
}

/** The zone of a blob: its IANA match when there is one (better history), else the rule itself. */
export function zoneFromBlob(base64: string): Zone {
  const tz = decodeTimezoneBlob(base64);
  if (!hasDst(tz) && tz.bias + tz.standardBias === 0) return UTC_ZONE;
  const iana = ianaForWindows(tz);
  return iana ? ianaZone(iana) : windowsZone(tz);
}

/** UTC milliseconds of a local wall-clock time in a zone (the earlier one in a fold, shifted in a gap). */
export function localToUtc(zone: Zone, localMs: number): number {
  let utc = localMs - zone.offsetAt(localMs) * 60_000;
  utc = localMs - zone.offsetAt(utc) * 60_000;
  return utc;
}

/** Local wall-clock milliseconds (as if UTC) of an instant in a zone. */
export function utcToLocal(zone: Zone, utcMs: number): number {
  return utcMs + zone.offsetAt(utcMs) * 60_000;
}

const pad = (n: number, width = 2) => String(Math.abs(n)).padStart(width, "0");

function offsetText(minutes: number): string {
  return `${minutes < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
}

const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const;

/** A VTIMEZONE (RFC 5545 3.6.5) for a zone, with yearly rules of the zone's Windows form. */
export function vtimezoneOf(zone: Zone, year = new Date().getUTCFullYear()): Component {
  const tz = zone.windows(Date.UTC(year, 6, 1));
  const std = -(tz.bias + tz.standardBias);
  const dst = -(tz.bias + tz.daylightBias);
  const part = (name: string, t: SystemTime | undefined, from: number, to: number): Component => {
    const properties = [];
    if (t) {
      const day = ruleDay(1970, t);
      properties.push(property("DTSTART", `1970${pad(t.month)}${pad(day)}T${pad(t.hour)}${pad(t.minute)}00`));
      properties.push(property(
        "RRULE",
        `FREQ=YEARLY;BYMONTH=${t.month};BYDAY=${t.day >= 5 ? -1 : t.day}${WEEKDAYS[t.dayOfWeek]}`,
      ));
    } else properties.push(property("DTSTART", "19700101T000000"));
    properties.push(property("TZOFFSETFROM", offsetText(from)), property("TZOFFSETTO", offsetText(to)));
    return { name, properties, components: [] };
  };
  const components = hasDst(tz)
    ? [part("STANDARD", tz.standardDate, dst, std), part("DAYLIGHT", tz.daylightDate, std, dst)]
    : [part("STANDARD", undefined, std, std)];
  return { name: "VTIMEZONE", properties: [property("TZID", zone.id)], components };
}

function parseOffset(value: string | undefined): number | undefined {
  const m = /^([+-])(\d{2})(\d{2})(\d{2})?$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === "-" ? -minutes : minutes;
}

/** Reads a VTIMEZONE's current yearly rules into a Windows rule; undefined when it has none usable. */
export function windowsFromVtimezone(vtz: Component): WindowsTimeZone | undefined {
  const latest = (name: string) =>
    vtz.components.filter((c) => c.name === name).sort((a, b) =>
      (prop(a, "DTSTART")?.value ?? "").localeCompare(prop(b, "DTSTART")?.value ?? "")
    ).at(-1);
  const std = latest("STANDARD");
  const dst = latest("DAYLIGHT");
  const stdOffset = parseOffset(
    prop(std ?? dst ?? { name: "", properties: [], components: [] }, "TZOFFSETTO")?.value,
  );
  if (stdOffset === undefined) return undefined;
  const name = (prop(vtz, "TZID")?.value ?? "").slice(0, 31);
  const base = { ...UTC_ZONE.windows(0), bias: -stdOffset, standardName: name, daylightName: name };
  if (!std || !dst) return base;
  const dstOffset = parseOffset(prop(dst, "TZOFFSETTO")?.value);
  const stdRule = ruleOfPart(std);
  const dstRule = ruleOfPart(dst);
  if (dstOffset === undefined || !stdRule || !dstRule) return base;
  return {
    ...base,
    standardDate: stdRule,
    daylightDate: dstRule,
    daylightBias: -(dstOffset - stdOffset),
  };
}

function ruleOfPart(part: Component): SystemTime | undefined {
  const start = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})/.exec(prop(part, "DTSTART")?.value ?? "");
  const rrule = prop(part, "RRULE")?.value;
  if (!start || !rrule) return undefined;
  const rule = Object.fromEntries(rrule.split(";").map((kv) => kv.split("=") as [string, string]));
  if (rule.FREQ !== "YEARLY" || (rule.UNTIL && rule.UNTIL < "2000")) return undefined;
  const month = Number(rule.BYMONTH ?? start[2]);
  const byday = /^([+-]?\d)?(SU|MO|TU|WE|TH|FR|SA)$/.exec(rule.BYDAY ?? "");
  if (!byday) return undefined;
  let week = byday[1] ? Number(byday[1]) : 1;
  if (!byday[1] && rule.BYMONTHDAY) week = Math.ceil(Number(rule.BYMONTHDAY.split(",")[0]) / 7);
  if (week < 0) week = 5;
  return {
    ...EMPTY_TIME,
    month,
    dayOfWeek: WEEKDAYS.indexOf(byday[2] as typeof WEEKDAYS[number]),
    day: Math.min(week, 5),
    hour: Number(start[4]),
    minute: Number(start[5]),
  };
}

/**
 * The zone a TZID names inside a calendar: an IANA name (also at the end of
 * a path, as Lightning writes "/mozilla.org/.../Europe/Berlin"), a Windows
 * name, or the calendar's own VTIMEZONE rule. Undefined when none applies.
 */
export function resolveTzid(tzid: string, vtimezones: Component[]): Zone | undefined {
  const candidates = [
    tzid,
    tzid.replace(/^.*?([A-Za-z_]+\/[A-Za-z_+\-0-9]+(\/[A-Za-z_]+)?)$/, "$1"),
    WINDOWS_TO_IANA[tzid],
  ];
  for (const c of candidates) {
    if (c && isIanaZone(c)) return ianaZone(c);
  }
  const vtz = vtimezones.find((v) => prop(v, "TZID")?.value === tzid);
  const rule = vtz ? windowsFromVtimezone(vtz) : undefined;
  return rule ? windowsZone(rule, tzid) : undefined;
}
