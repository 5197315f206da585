/**
 * DATE and DATE-TIME values of iCalendar (RFC 5545 3.3.4, 3.3.5) and the
 * compact EAS date-time of MS-ASCAL ("20261121T100000Z").
 */
import { CalendarSyntaxError, type Component, param, type Property } from "./ical.ts";
import { localToUtc, resolveTzid, UTC_ZONE, utcToLocal, type Zone } from "./timezone.ts";

/** A parsed DTSTART/DTEND/DUE/RECURRENCE-ID/EXDATE value. */
export interface IcalTime {
  /** The instant (for a DATE: midnight UTC of that date). */
  utcMs: number;
  /** A DATE value (all-day). */
  allDay: boolean;
  /** The zone it was written in; undefined for UTC ("Z") and DATE values; floating times use `floating`. */
  zone?: Zone;
  floating?: boolean;
}

const DATE_TIME = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/;

/**
 * Parses one DATE or DATE-TIME text. TZID names are resolved against the
 * calendar's VTIMEZONEs; an unknown TZID and floating times are read in
 * `fallback` (UTC unless the caller knows better).
 */
export function parseIcalTime(
  text: string,
  tzid: string | undefined,
  vtimezones: Component[],
  fallback: Zone = UTC_ZONE,
): IcalTime {
  const m = DATE_TIME.exec(text.trim());
  if (!m) throw new CalendarSyntaxError(`Value '${text.slice(0, 30)}' is not a DATE or DATE-TIME`, 0);
  const [, y, mo, d, h, mi, s, z] = m;
  const local = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h ?? 0),
    Number(mi ?? 0),
    Number(s ?? 0),
  );
  if (h === undefined) return { utcMs: local, allDay: true };
  if (z) return { utcMs: local, allDay: false };
  const zone = tzid ? resolveTzid(tzid, vtimezones) : undefined;
  if (zone) return { utcMs: localToUtc(zone, local), allDay: false, zone };
  return { utcMs: localToUtc(fallback, local), allDay: false, floating: true, zone: fallback };
}

/** Parses a date property (its TZID and VALUE=DATE honoured). */
export function parseTimeProperty(p: Property, vtimezones: Component[], fallback?: Zone): IcalTime {
  return parseIcalTime(p.value.split(",")[0]!, param(p, "TZID"), vtimezones, fallback);
}

/** Every value of a multi-valued date property (EXDATE, RDATE). */
export function parseTimeList(p: Property, vtimezones: Component[], fallback?: Zone): IcalTime[] {
  return p.value.split(",").filter((v) => v.trim()).map((v) =>
    parseIcalTime(v, param(p, "TZID"), vtimezones, fallback)
  );
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** "YYYYMMDDTHHMMSSZ" of an instant. */
export function formatUtc(utcMs: number): string {
  const d = new Date(utcMs);
  return `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${
    pad(d.getUTCHours())
  }${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
}

/** "YYYYMMDDTHHMMSS" local time of an instant in a zone. */
export function formatLocal(utcMs: number, zone: Zone): string {
  return formatUtc(utcToLocal(zone, utcMs)).slice(0, -1);
}

/** "YYYYMMDD" of a local date in a zone. */
export function formatDate(utcMs: number, zone: Zone = UTC_ZONE): string {
  return formatUtc(utcToLocal(zone, utcMs)).slice(0, 8);
}

/** Compact EAS date-time (MS-ASCAL StartTime etc.). */
export const formatCompact = formatUtc;

/** Parses a compact or extended EAS date-time; undefined when it is neither. */
export function parseCompact(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const t = text.trim();
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(t);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})$/.test(t)) return undefined;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A date-time property in a zone: UTC ("Z") for the UTC zone, else local
 * time with TZID (the VTIMEZONE is added by the caller).
 */
export function timeProperty(name: string, utcMs: number, zone: Zone | undefined, allDay = false) {
  if (allDay) return { name, params: { VALUE: ["DATE"] }, value: formatDate(utcMs, zone ?? UTC_ZONE) };
  if (!zone || zone.id === "UTC") return { name, params: {}, value: formatUtc(utcMs) };
  return { name, params: { TZID: [zone.id] }, value: formatLocal(utcMs, zone) };
}

/** Parses an RFC 5545 DURATION ("-PT15M", "P1D", "P1W") into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text.trim());
  if (!m || text.trim().endsWith("T") || text.trim().replace(/^[+-]/, "") === "P") return undefined;
  const [, sign, w, d, h, mi, s] = m;
  const ms = ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 86_400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 +
    Number(s ?? 0)) * 1000;
  return sign === "-" ? -ms : ms;
}

/** Formats milliseconds as an RFC 5545 DURATION in minutes ("-PT15M"). */
export function formatMinutesDuration(minutes: number): string {
  return `${minutes > 0 ? "-" : ""}PT${Math.abs(minutes)}M`;
}
