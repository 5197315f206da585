/**
 * Free/busy of ResolveRecipients Availability (MS-ASCMD 2.2.3.16, 2.2.3.107)
 * over CalDAV with the requesting user's own credentials:
 * - the user's own addresses: a time-range calendar-query (RFC 4791 7.8,
 *   9.9) of every calendar in their calendar-home-set, occurrences expanded
 *   here (RFC 5545 3.8.5) and weighed by TRANSP / STATUS /
 *   X-MICROSOFT-CDO-BUSYSTATUS;
 * - anyone else: the scheduling outbox POST of a VFREEBUSY request (RFC 6638
 *   servers that keep the caldav-sched busy-time request) where the server
 *   names an outbox, else a free-busy-query REPORT (RFC 4791 7.10) on the
 *   recipient's calendars, found by principal-property-search (RFC 3744 9.4)
 *   or, on servers without it, the sibling of the user's own principal; a
 *   server that lets the user read the calendar but does not answer the
 *   report (Radicale 3.1 with owner_write or from_file rights) gives the
 *   events of the window instead, weighed as for the user's own calendars.
 * A server that does not let the user read someone's free/busy (Radicale's
 * owner_only rights answer 403 for another user's collections) gives
 * "unreadable", which the command answers with Availability Status 163:
 * never invented free time.
 */
import { BackendUnavailableError } from "../../backend/types.ts";
import { BUSY_STATUS } from "../../eas/model/calendar.ts";
import type { AvailabilityLookup, AvailabilityResult } from "../../eas/commands/resolve_recipients.ts";
import { escapeXml, kid, kids, NS, parseXml } from "./_xml.ts";
import { type DavClient, type DavHomes, DavRefusedError, propKey } from "./dav_client.ts";
import { addressOf, busyOf, eventTimes } from "./event_map.ts";
import { type Component, param, parseComponents, prop, props, text } from "./ical.ts";
import { formatUtc, parseDuration, parseIcalTime, parseTimeList, parseTimeProperty } from "./ical_time.ts";
import { parseRrule, WEEKDAY_CODES } from "./recurrence.ts";
import { localToUtc, UTC_ZONE, utcToLocal, type Zone } from "./timezone.ts";

/** One MergedFreeBusy digit covers 30 minutes (MS-ASCMD 2.2.3.107). */
export const SLOT_MS = 30 * 60_000;

/** MergedFreeBusy digits (MS-ASCMD 2.2.3.107); in a shared slot the higher digit wins. */
export const FREE_BUSY = { Free: 0, Tentative: 1, Busy: 2, OutOfOffice: 3, NoData: 4 } as const;

/** A digit of MergedFreeBusy. */
export type FreeBusyDigit = typeof FREE_BUSY[keyof typeof FREE_BUSY];

/** A busy interval (UTC ms, end exclusive) and how busy it is. */
export interface BusyPeriod {
  start: number;
  end: number;
  status: FreeBusyDigit;
}

/** Days a recurrence is followed from its DTSTART before the rest is reported as no data. */
const MAX_EXPANSION_DAYS = 366 * 60;
const DAY_MS = 86_400_000;

/**
 * The MergedFreeBusy string of `periods` over [start, end): one digit per
 * 30 minutes, the last slot possibly shorter; a slot touched by several
 * periods takes the highest digit (MS-ASCMD 2.2.3.107).
 */
export function mergedFreeBusy(periods: readonly BusyPeriod[], start: number, end: number): string {
  const slots = new Array<number>(Math.max(0, Math.ceil((end - start) / SLOT_MS))).fill(FREE_BUSY.Free);
  for (const p of periods) {
    const from = Math.max(p.start, start);
    const to = Math.min(p.end, end);
    if (to <= from) continue;
    const last = Math.ceil((to - start) / SLOT_MS);
    for (let i = Math.floor((from - start) / SLOT_MS); i < last; i++) {
      slots[i] = Math.max(slots[i]!, p.status);
    }
  }
  return slots.join("");
}

/** FBTYPE of a FREEBUSY property (RFC 5545 3.2.9) as a MergedFreeBusy digit; FREE gives none. */
const FBTYPE_DIGIT: Readonly<Record<string, FreeBusyDigit>> = {
  BUSY: FREE_BUSY.Busy,
  "BUSY-TENTATIVE": FREE_BUSY.Tentative,
  "BUSY-UNAVAILABLE": FREE_BUSY.OutOfOffice,
};

/** Busy periods of the VFREEBUSY components of an iCalendar text (RFC 5545 3.6.4, 3.8.2.6). */
export function busyPeriodsOfFreeBusy(ics: string): BusyPeriod[] {
  const out: BusyPeriod[] = [];
  const visit = (c: Component) => {
    if (c.name === "VFREEBUSY") {
      for (const p of props(c, "FREEBUSY")) {
        const type = (param(p, "FBTYPE") ?? "BUSY").toUpperCase();
        // Unknown x-name FBTYPEs are treated as BUSY (RFC 5545 3.2.9).
        const status = type === "FREE" ? undefined : FBTYPE_DIGIT[type] ?? FREE_BUSY.Busy;
        if (status === undefined) continue;
        for (const period of p.value.split(",")) {
          const [from, to] = period.trim().split("/");
          if (!from || !to) continue;
          const start = parseIcalTime(from, undefined, []).utcMs;
          const end = /^[+-]?P/i.test(to)
            ? start + (parseDuration(to) ?? 0)
            : parseIcalTime(to, undefined, []).utcMs;
          if (end > start) out.push({ start, end, status });
        }
      }
    }
    c.components.forEach(visit);
  };
  parseComponents(ics).forEach(visit);
  return out;
}

/** EAS BusyStatus (MS-ASCAL 2.2.2.8) as a MergedFreeBusy digit; free and working elsewhere count as available. */
function digitOfBusy(busy: number): FreeBusyDigit | undefined {
  if (busy === BUSY_STATUS.Busy) return FREE_BUSY.Busy;
  if (busy === BUSY_STATUS.Tentative) return FREE_BUSY.Tentative;
  if (busy === BUSY_STATUS.OutOfOffice) return FREE_BUSY.OutOfOffice;
  return undefined;
}

/**
 * Busy periods of the events of one calendar object resource within
 * [start, end): recurrences expanded (DAILY/WEEKLY/MONTHLY/YEARLY with
 * INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, WKST; RDATE, EXDATE
 * and RECURRENCE-ID overrides), cancelled and transparent events left out.
 * A rule this expander does not follow (BYSETPOS, BYWEEKNO, BYYEARDAY,
 * BYHOUR..., sub-daily FREQ) is reported as no data (4) from its start, so
 * unknown time is never shown as free.
 */
export function busyPeriodsOfEvents(ics: string, start: number, end: number): BusyPeriod[] {
  const calendar = parseComponents(ics).find((c) => c.name === "VCALENDAR");
  if (!calendar) return [];
  const vtimezones = calendar.components.filter((c) => c.name === "VTIMEZONE");
  const events = calendar.components.filter((c) => c.name === "VEVENT");
  const overrides = events.filter((e) => prop(e, "RECURRENCE-ID"));
  const out: BusyPeriod[] = [];
  const add = (event: Component, from: number, to: number) => {
    const status = digitOfBusy(busyOf(event));
    if (status !== undefined && to > start && from < end) out.push({ start: from, end: to, status });
  };
  for (const event of events) {
    if (text(event, "STATUS")?.toUpperCase() === "CANCELLED" || !prop(event, "DTSTART")) continue;
    const times = eventTimes(event, vtimezones);
    const duration = times.end - times.start.utcMs;
    if (prop(event, "RECURRENCE-ID")) {
      add(event, times.start.utcMs, times.end);
      continue;
    }
    const replaced = new Set(
      overrides.filter((o) => text(o, "UID") === text(event, "UID"))
        .map((o) => parseTimeProperty(prop(o, "RECURRENCE-ID")!, vtimezones).utcMs),
    );
    let starts: number[];
    try {
      starts = occurrenceStarts(event, vtimezones, start - duration, end);
    } catch (error) {
      if (!(error instanceof UnsupportedRuleError)) throw error;
      out.push({ start: Math.max(start, times.start.utcMs), end, status: FREE_BUSY.NoData });
      continue;
    }
    for (const s of starts) if (!replaced.has(s)) add(event, s, s + duration);
  }
  return out;
}

class UnsupportedRuleError extends Error {}

/** Occurrence starts (UTC ms) of a master VEVENT that begin before `end` and after `after`. */
function occurrenceStarts(event: Component, vtimezones: Component[], after: number, end: number): number[] {
  const { start, zone } = eventTimes(event, vtimezones);
  const starts = new Set<number>();
  const rruleProp = prop(event, "RRULE");
  if (rruleProp) {
    for (
      const s of expandRule(parseRrule(rruleProp.value), start.utcMs, start.allDay ? UTC_ZONE : zone, end)
    ) {
      starts.add(s);
    }
  } else starts.add(start.utcMs);
  for (const p of props(event, "RDATE")) {
    if (param(p, "VALUE")?.toUpperCase() === "PERIOD") continue;
    for (const t of parseTimeList(p, vtimezones)) starts.add(t.utcMs);
  }
  for (const p of props(event, "EXDATE")) {
    for (const t of parseTimeList(p, vtimezones)) {
      if (!t.allDay) starts.delete(t.utcMs);
      else {
        for (const s of starts) {
          if (Math.floor(utcToLocal(start.allDay ? UTC_ZONE : zone, s) / DAY_MS) * DAY_MS === t.utcMs) {
            starts.delete(s);
          }
        }
      }
    }
  }
  return [...starts].filter((s) => s > after && s < end).sort((a, b) => a - b);
}

const UNSUPPORTED_PARTS = ["BYSETPOS", "BYWEEKNO", "BYYEARDAY", "BYHOUR", "BYMINUTE", "BYSECOND"] as const;

/**
 * Starts of an RRULE (RFC 5545 3.3.10) from `dtstart` up to `end`, walking
 * the local calendar day by day: a day is an occurrence when it lies in an
 * INTERVAL-th period of FREQ and passes every BYxxx filter (with the
 * DTSTART defaults of 3.3.10). DTSTART is always the first occurrence.
 */
function expandRule(rule: Record<string, string>, dtstart: number, zone: Zone, end: number): number[] {
  const freq = rule.FREQ ?? "";
  if (!["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].includes(freq) || UNSUPPORTED_PARTS.some((p) => rule[p])) {
    throw new UnsupportedRuleError(`RRULE FREQ '${freq}' with its parts is not expanded`);
  }
  const interval = Math.max(1, Number(rule.INTERVAL ?? 1) || 1);
  const count = rule.COUNT ? Number(rule.COUNT) : Infinity;
  const until = rule.UNTIL ? untilOf(rule.UNTIL, zone) : Infinity;
  const local0 = utcToLocal(zone, dtstart);
  const day0 = Math.floor(local0 / DAY_MS) * DAY_MS;
  const timeOfDay = local0 - day0;
  const d0 = new Date(day0);
  const byday = (rule.BYDAY ?? "").split(",").filter((s) => s).map((s) => {
    const m = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(s);
    if (!m) throw new UnsupportedRuleError(`BYDAY '${s}' is not a weekday`);
    return { n: m[1] ? Number(m[1]) : 0, day: WEEKDAY_CODES.indexOf(m[2] as typeof WEEKDAY_CODES[number]) };
  });
  const bymonthday = (rule.BYMONTHDAY ?? "").split(",").filter((s) => s).map(Number);
  let bymonth = (rule.BYMONTH ?? "").split(",").filter((s) => s).map(Number);
  // DTSTART defaults (RFC 5545 3.3.10): the missing day parts come from DTSTART.
  if (freq === "WEEKLY" && !byday.length) byday.push({ n: 0, day: d0.getUTCDay() });
  if (freq === "MONTHLY" && !byday.length && !bymonthday.length) bymonthday.push(d0.getUTCDate());
  if (freq === "YEARLY" && !byday.length && !bymonthday.length) {
    bymonthday.push(d0.getUTCDate());
    if (!bymonth.length) bymonth = [d0.getUTCMonth() + 1];
  }
  const wkst = WEEKDAY_CODES.indexOf((rule.WKST ?? "MO") as typeof WEEKDAY_CODES[number]);
  const weekStart = (ms: number) => ms - ((new Date(ms).getUTCDay() - Math.max(0, wkst) + 7) % 7) * DAY_MS;
  const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();
  const out: number[] = [dtstart];
  let seen = 1;
  for (let day = day0 + DAY_MS, i = 1; seen < count; day += DAY_MS, i++) {
    if (i > MAX_EXPANSION_DAYS) throw new UnsupportedRuleError("Recurrence reaches too far");
    const d = new Date(day);
    const inPeriod = freq === "DAILY"
      ? i % interval === 0
      : freq === "WEEKLY"
      ? Math.round((weekStart(day) - weekStart(day0)) / (7 * DAY_MS)) % interval === 0
      : freq === "MONTHLY"
      ? (monthIndex(d) - monthIndex(d0)) % interval === 0
      : (d.getUTCFullYear() - d0.getUTCFullYear()) % interval === 0;
    if (!inPeriod || !passes(d, freq, byday, bymonthday, bymonth)) continue;
    const s = localToUtc(zone, day + timeOfDay);
    if (s > until || s >= end) break;
    out.push(s);
    seen++;
  }
  return out;
}

function passes(
  d: Date,
  freq: string,
  byday: { n: number; day: number }[],
  bymonthday: number[],
  bymonth: number[],
): boolean {
  const month = d.getUTCMonth();
  const date = d.getUTCDate();
  const daysInMonth = new Date(Date.UTC(d.getUTCFullYear(), month + 1, 0)).getUTCDate();
  if (bymonth.length && !bymonth.includes(month + 1)) return false;
  if (bymonthday.length && !bymonthday.some((n) => n === date || n === date - daysInMonth - 1)) return false;
  if (!byday.length) return true;
  // Ordinals count within the month (MONTHLY, or YEARLY with BYMONTH), else within the year.
  const inYear = freq === "YEARLY" && !bymonth.length;
  const dayOfYear = Math.round((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS);
  const daysInYear = Math.round(
    (Date.UTC(d.getUTCFullYear() + 1, 0, 1) - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS,
  );
  const [index, length] = inYear ? [dayOfYear, daysInYear] : [date - 1, daysInMonth];
  return byday.some(({ n, day }) => {
    if (day !== d.getUTCDay()) return false;
    if (n === 0 || (freq !== "MONTHLY" && freq !== "YEARLY")) return true;
    return n > 0 ? Math.floor(index / 7) + 1 === n : -(Math.floor((length - 1 - index) / 7) + 1) === n;
  });
}

function untilOf(value: string, zone: Zone): number {
  const t = parseIcalTime(value, undefined, []);
  // A DATE UNTIL includes that whole day; a floating one is local time (RFC 5545 3.3.10).
  if (t.allDay) return localToUtc(zone, t.utcMs + DAY_MS - 1);
  return /Z$/i.test(value) ? t.utcMs : localToUtc(zone, t.utcMs);
}

/** What the free/busy lookup needs. */
export interface DavAvailabilityOptions {
  client: DavClient;
  /** The user's login: a principal named after it has siblings named after other logins. */
  login: string;
  /** The user's own addresses (lower case): these read the user's own calendars. */
  selfEmails: () => Promise<string[]>;
  /** The user's home sets when already known (else discovered once). */
  homes?: () => Promise<DavHomes>;
}

/** Free/busy over CalDAV for one user's requests (see the module comment). */
export class DavAvailability implements AvailabilityLookup {
  readonly #o: DavAvailabilityOptions;
  #homes: Promise<DavHomes> | undefined;
  /** The ORGANIZER of outbox requests, looked up once. */
  #organizerOf: Promise<string> | undefined;

  constructor(options: DavAvailabilityOptions) {
    this.#o = options;
  }

  #discover(): Promise<DavHomes> {
    this.#homes ??= (this.#o.homes?.() ?? this.#o.client.discover()).catch((error) => {
      this.#homes = undefined;
      throw error;
    });
    return this.#homes;
  }

  /** MergedFreeBusy of `address` over [start, end), or why there is none. */
  async freeBusy(address: string, start: Date, end: Date): Promise<AvailabilityResult> {
    try {
      const periods = await this.busyPeriods(address.toLowerCase(), start.getTime(), end.getTime());
      if (!periods) return { failure: "unreadable" };
      return { merged: mergedFreeBusy(periods, start.getTime(), end.getTime()) };
    } catch (error) {
      if (error instanceof BackendUnavailableError) {
        return { failure: "transient" };
      }
      if (error instanceof DavRefusedError) return { failure: "unreadable" };
      throw error;
    }
  }

  /** Busy periods of `address`, or undefined when the server does not let the user read them. */
  async busyPeriods(address: string, start: number, end: number): Promise<BusyPeriod[] | undefined> {
    const homes = await this.#discover();
    if ((await this.#o.selfEmails()).includes(address)) return await this.#ownPeriods(homes, start, end);
    if (homes.scheduleOutbox) {
      const viaOutbox = await this.#outbox(homes.scheduleOutbox, homes.principal, address, start, end).catch(
        (error) => {
          if (error instanceof DavRefusedError) return undefined;
          throw error;
        },
      );
      if (viaOutbox) return viaOutbox;
    }
    const calendarHomes = await this.#homesOf(homes, address);
    if (!calendarHomes?.length) return undefined;
    const calendars = await this.#calendars(calendarHomes);
    if (!calendars) return undefined;
    const out: BusyPeriod[] = [];
    for (const calendar of calendars) {
      let periods = await this.#freeBusyQuery(calendar.href, start, end);
      if (periods === null) {
        // Not refused but not answered either: list the events, as for the user's own calendars.
        periods = calendar.transparent ? [] : await this.#eventPeriods(calendar.href, start, end);
      }
      if (!periods) return undefined;
      out.push(...periods);
    }
    return out;
  }

  /**
   * A free-busy-query REPORT (RFC 4791 7.10) of one calendar: its busy
   * periods, null when the server does not answer the report (Radicale 3.1
   * ignores it and lists the collection in a 207), undefined when it refuses
   * (403 without CALDAV:read-free-busy, 401).
   */
  async #freeBusyQuery(
    calendar: string,
    start: number,
    end: number,
  ): Promise<BusyPeriod[] | null | undefined> {
    const response = await this.#o.client.request("REPORT", calendar, {
      body: `<?xml version="1.0" encoding="utf-8"?><c:free-busy-query xmlns:c="${NS.CALDAV}">${
        timeRange(start, end)
      }</c:free-busy-query>`,
      headers: { depth: "1" },
    });
    const body = await response.text();
    if (response.status === 401 || response.status === 403) return undefined;
    // The answer is a text/calendar VFREEBUSY (7.10); Xandikos 0.2 labels it application/octet-stream,
    // so the body decides, not the Content-Type.
    if (response.status === 200 && /^\s*BEGIN:VCALENDAR/i.test(body)) return busyPeriodsOfFreeBusy(body);
    return null;
  }

  /** The user's own calendars: a time-range calendar-query (RFC 4791 7.8.1) and local expansion. */
  async #ownPeriods(homes: DavHomes, start: number, end: number): Promise<BusyPeriod[] | undefined> {
    const calendars = await this.#calendars(homes.calendarHomes);
    if (!calendars) return undefined;
    const out: BusyPeriod[] = [];
    for (const calendar of calendars) {
      if (calendar.transparent) continue;
      const periods = await this.#eventPeriods(calendar.href, start, end);
      if (!periods) return undefined;
      out.push(...periods);
    }
    return out;
  }

  /**
   * Busy periods of one calendar from its events in the window: a time-range
   * calendar-query (RFC 4791 7.8.1, 9.9) and local expansion; undefined when
   * the server refuses the listing.
   */
  async #eventPeriods(calendar: string, start: number, end: number): Promise<BusyPeriod[] | undefined> {
    const query =
      `<?xml version="1.0" encoding="utf-8"?><c:calendar-query xmlns:d="DAV:" xmlns:c="${NS.CALDAV}"><d:prop><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">${
        timeRange(start, end)
      }</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`;
    let responses;
    try {
      responses = await this.#o.client.report(calendar, query);
    } catch (error) {
      if (error instanceof DavRefusedError) return undefined;
      throw error;
    }
    const out: BusyPeriod[] = [];
    for (const r of responses) {
      const ics = r.props.get(propKey(NS.CALDAV, "calendar-data"))?.text;
      if (r.status >= 300 || !ics) continue;
      try {
        out.push(...busyPeriodsOfEvents(ics, start, end));
      } catch {
        // One unreadable event must not hide the rest; its time is unknown, not free.
        out.push({ start, end, status: FREE_BUSY.NoData });
      }
    }
    return out;
  }

  /**
   * Event calendars under the homes, each marked when its owner keeps it out
   * of free/busy (schedule-calendar-transp transparent, RFC 6638 9.1);
   * undefined when none is visible because the server refused the listing
   * (403 propstats, as SabreDAV answers for another user's home): that is
   * unknown time, not free time.
   */
  async #calendars(homes: string[]): Promise<{ href: string; transparent: boolean }[] | undefined> {
    const out: { href: string; transparent: boolean }[] = [];
    let refused = false;
    for (const home of homes) {
      const responses = await this.#o.client.propfind(home, [
        [NS.DAV, "resourcetype"],
        [NS.CALDAV, "supported-calendar-component-set"],
        [NS.CALDAV, "schedule-calendar-transp"],
      ], 1);
      for (const r of responses) {
        if (r.refused) refused = true;
        if (!kid(r.props.get(propKey(NS.DAV, "resourcetype")), NS.CALDAV, "calendar")) continue;
        const comps = kids(
          r.props.get(propKey(NS.CALDAV, "supported-calendar-component-set")),
          NS.CALDAV,
          "comp",
        )
          .map((c) => (c.attributes.name ?? "").toUpperCase());
        if (comps.length && !comps.includes("VEVENT")) continue;
        const transparent = Boolean(
          kid(r.props.get(propKey(NS.CALDAV, "schedule-calendar-transp")), NS.CALDAV, "transparent"),
        );
        if (!out.some((c) => c.href === r.href)) out.push({ href: r.href, transparent });
      }
    }
    return out.length || !refused ? out : undefined;
  }

  /**
   * Calendar homes of another address: principal-property-search on
   * calendar-user-address-set (RFC 3744 9.4, RFC 6638 2.4.1), else the
   * sibling of the user's own principal named after the address's login
   * (the full address when the user logs in with one, else its local part,
   * and only within the user's own domains). A principal without a
   * calendar-home-set is its own home (Radicale's layout).
   */
  async #homesOf(homes: DavHomes, address: string): Promise<string[] | undefined> {
    const search = await this.#o.client.report(
      "/",
      `<?xml version="1.0" encoding="utf-8"?><d:principal-property-search xmlns:d="DAV:" xmlns:c="${NS.CALDAV}" test="anyof"><d:property-search><d:prop><c:calendar-user-address-set/></d:prop><d:match>${
        escapeXml(address)
      }</d:match></d:property-search><d:prop><c:calendar-home-set/><c:calendar-user-address-set/></d:prop><d:apply-to-principal-collection-set/></d:principal-property-search>`,
      0,
    ).catch((error) => {
      if (error instanceof DavRefusedError) return [];
      throw error;
    });
    for (const r of search) {
      const addresses = kids(r.props.get(propKey(NS.CALDAV, "calendar-user-address-set")), NS.DAV, "href")
        .map((h) => addressOf(h.text));
      const found = kids(r.props.get(propKey(NS.CALDAV, "calendar-home-set")), NS.DAV, "href")
        .map((h) => decodeURIComponent(h.text.trim()));
      if (addresses.includes(address) && found.length) return found;
    }
    const principal = await this.#siblingPrincipal(homes, address);
    if (!principal) return undefined;
    const [r] = await this.#o.client.propfind(principal, [[NS.CALDAV, "calendar-home-set"]], 0);
    if (!r || r.status >= 300) return undefined;
    const found = kids(r.props.get(propKey(NS.CALDAV, "calendar-home-set")), NS.DAV, "href")
      .map((h) => decodeURIComponent(h.text.trim()));
    return found.length ? found : [principal];
  }

  async #siblingPrincipal(homes: DavHomes, address: string): Promise<string | undefined> {
    const segments = homes.principal.replace(/\/$/, "").split("/");
    const own = segments.at(-1) ?? "";
    const login = this.#o.login.toLowerCase();
    if (decodeURIComponent(own).toLowerCase() !== login) return undefined;
    const domains = (await this.#o.selfEmails()).map((e) => e.slice(e.indexOf("@") + 1));
    const at = address.lastIndexOf("@");
    if (at < 1 || !domains.includes(address.slice(at + 1))) return undefined;
    const name = login.includes("@") ? address : address.slice(0, at);
    segments[segments.length - 1] = encodeURIComponent(name);
    return `${segments.join("/")}/`;
  }

  /**
   * The ORGANIZER of an outbox request: it must be one of the user's
   * calendar-user-address-set (RFC 6638 2.4.1, 5; SabreDAV refuses any other
   * with 403), so the user's address as the principal spells it, else the
   * first of the user's own addresses.
   */
  async #organizer(principal: string): Promise<string> {
    const selves = await this.#o.selfEmails();
    const [r] = await this.#o.client.propfind(principal, [[NS.CALDAV, "calendar-user-address-set"]], 0)
      .catch((error) => {
        if (error instanceof DavRefusedError) return [];
        throw error;
      });
    const known = kids(r?.props.get(propKey(NS.CALDAV, "calendar-user-address-set")), NS.DAV, "href")
      .map((h) => h.text.trim())
      .find((h) => /^mailto:/i.test(h) && selves.includes(addressOf(h)));
    return known ?? `mailto:${selves.find((e) => e.includes("@")) ?? this.#o.login}`;
  }

  /** A VFREEBUSY request to the scheduling outbox; undefined unless the recipient's request-status is 2.x. */
  async #outbox(
    outbox: string,
    principal: string,
    address: string,
    start: number,
    end: number,
  ): Promise<BusyPeriod[] | undefined> {
    this.#organizerOf ??= this.#organizer(principal).catch((error) => {
      this.#organizerOf = undefined;
      throw error;
    });
    const organizer = await this.#organizerOf;
    const ics = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Pushbridge//Availability//EN",
      "METHOD:REQUEST",
      "BEGIN:VFREEBUSY",
      `UID:${crypto.randomUUID()}`,
      `DTSTAMP:${formatUtc(Date.now())}`,
      `DTSTART:${formatUtc(start)}`,
      `DTEND:${formatUtc(end)}`,
      `ORGANIZER:${organizer}`,
      `ATTENDEE:mailto:${address}`,
      "END:VFREEBUSY",
      "END:VCALENDAR",
      "",
    ].join("\r\n");
    const response = await this.#o.client.request("POST", outbox, {
      body: ics,
      headers: { "content-type": "text/calendar; charset=utf-8" },
    });
    const body = await response.text();
    if (response.status !== 200) return undefined;
    for (const r of kids(parseXml(body), NS.CALDAV, "response")) {
      const recipient = kid(kid(r, NS.CALDAV, "recipient"), NS.DAV, "href")?.text ?? "";
      const status = kid(r, NS.CALDAV, "request-status")?.text.trim() ?? "";
      const data = kid(r, NS.CALDAV, "calendar-data")?.text;
      if (addressOf(recipient) === address && status.startsWith("2.") && data) {
        return busyPeriodsOfFreeBusy(data);
      }
    }
    return undefined;
  }
}

function timeRange(start: number, end: number): string {
  return `<c:time-range start="${formatUtc(start)}" end="${formatUtc(end)}"/>`;
}
