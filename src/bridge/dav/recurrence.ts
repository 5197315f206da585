/**
 * RRULE (RFC 5545 3.3.10) <-> EAS Recurrence (MS-ASCAL 2.2.2.39, MS-ASTASK
 * 2.2.2.18). EAS expresses daily, weekly, monthly on a day, monthly on the
 * nth weekday, yearly on a date and yearly on the nth weekday, with an
 * interval, a count or an end, and the first day of the week. Anything else
 * (several month days, BYHOUR, BYWEEKNO, BYSETPOS beyond one, sub-daily
 * frequencies) has no EAS form: `recurrenceFromRrule` answers undefined and
 * the caller keeps the server's rule untouched.
 */
import { DAY_OF_WEEK, type Recurrence, RECURRENCE_TYPE } from "../../eas/model/calendar.ts";
import { formatCompact, parseCompact } from "./ical_time.ts";

/** RRULE weekday codes in EAS bit order (Sunday = bit 0). */
export const WEEKDAY_CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const;

/** DayOfWeek value meaning "day" (any day, with WeekOfMonth 5: the last day of the month). */
export const ANY_DAY = 127;

/** Weekdays Monday-Friday as DayOfWeek bits. */
export const WEEKDAYS = DAY_OF_WEEK.Monday | DAY_OF_WEEK.Tuesday | DAY_OF_WEEK.Wednesday |
  DAY_OF_WEEK.Thursday | DAY_OF_WEEK.Friday;

/** The parts of an RRULE, upper-cased names. */
export function parseRrule(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).toUpperCase()] = part.slice(eq + 1).toUpperCase();
  }
  return out;
}

function dayBits(byday: string): number | undefined {
  let bits = 0;
  for (const code of byday.split(",")) {
    const i = WEEKDAY_CODES.indexOf(code as typeof WEEKDAY_CODES[number]);
    if (i < 0) return undefined;
    bits |= 1 << i;
  }
  return bits;
}

function dayCodes(bits: number): string {
  return WEEKDAY_CODES.filter((_, i) => bits & (1 << i)).join(",");
}

/**
 * The EAS form of an RRULE, or undefined when EAS cannot express it.
 * `localStart` is the first occurrence's wall-clock time (as a UTC date);
 * `allDay` makes a DATE UNTIL end at the end of that day.
 */
export function recurrenceFromRrule(rrule: string, localStart: Date): Recurrence | undefined {
  const r = parseRrule(rrule);
  const known = new Set([
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
  ]);
  if (Object.keys(r).some((k) => !known.has(k))) return undefined;
  const out: Partial<Recurrence> = {};
  const interval = r.INTERVAL ? Number(r.INTERVAL) : 1;
  if (!Number.isInteger(interval) || interval < 1 || interval > 999) return undefined;
  if (r.COUNT) {
    const count = Number(r.COUNT);
    if (!Number.isInteger(count) || count < 1) return undefined;
    out.occurrences = count;
  }
  if (r.UNTIL) {
    const until = /^\d{8}$/.test(r.UNTIL)
      ? parseCompact(`${r.UNTIL}T235959Z`)
      : parseCompact(r.UNTIL.endsWith("Z") ? r.UNTIL : `${r.UNTIL}Z`);
    if (until === undefined) return undefined;
    out.until = formatCompact(until);
  }
  if (r.WKST) {
    const i = WEEKDAY_CODES.indexOf(r.WKST as typeof WEEKDAY_CODES[number]);
    if (i < 0) return undefined;
    out.firstDayOfWeek = i;
  }
  const setpos = r.BYSETPOS ? Number(r.BYSETPOS) : undefined;
  if (r.BYSETPOS && (!/^-?\d$/.test(r.BYSETPOS) || setpos === 0)) return undefined;
  const nth = /^([+-]?\d)(SU|MO|TU|WE|TH|FR|SA)$/.exec(r.BYDAY ?? "");
  const weekOf = (n: number) => (n < 0 ? (n === -1 ? 5 : undefined) : n <= 4 ? n : n === 5 ? 5 : undefined);
  const monthDay = r.BYMONTHDAY ? Number(r.BYMONTHDAY) : undefined;
  if (r.BYMONTHDAY && (!/^-?\d{1,2}$/.test(r.BYMONTHDAY))) return undefined;

  // The nth weekday (or "last day"/"last weekday" forms) of a month.
  const nthForm = (): { weekOfMonth: number; dayOfWeek: number } | undefined => {
    if (nth && setpos === undefined) {
      const w = weekOf(Number(nth[1]));
      return w === undefined
        ? undefined
        : { weekOfMonth: w, dayOfWeek: 1 << WEEKDAY_CODES.indexOf(nth[2] as "SU") };
    }
    if (r.BYDAY && setpos !== undefined && !nth) {
      const bits = dayBits(r.BYDAY);
      const w = weekOf(setpos);
      return bits === undefined || w === undefined ? undefined : { weekOfMonth: w, dayOfWeek: bits };
    }
    if (monthDay === -1 && !r.BYDAY) return { weekOfMonth: 5, dayOfWeek: ANY_DAY };
    return undefined;
  };

  switch (r.FREQ) {
    case "DAILY": {
      if (r.BYMONTHDAY || r.BYMONTH || r.BYSETPOS) return undefined;
      if (r.BYDAY) {
        // "Every weekday": EAS writes it as weekly on those days (interval 1 only).
        const bits = dayBits(r.BYDAY);
        if (bits === undefined || interval !== 1) return undefined;
        return { ...out, type: RECURRENCE_TYPE.Weekly, interval: 1, dayOfWeek: bits };
      }
      return { ...out, type: RECURRENCE_TYPE.Daily, interval };
    }
    case "WEEKLY": {
      if (r.BYMONTHDAY || r.BYMONTH || r.BYSETPOS) return undefined;
      const bits = r.BYDAY ? dayBits(r.BYDAY) : 1 << localStart.getUTCDay();
      if (bits === undefined) return undefined;
      return { ...out, type: RECURRENCE_TYPE.Weekly, interval, dayOfWeek: bits };
    }
    case "MONTHLY": {
      if (r.BYMONTH) return undefined;
      if (r.BYDAY || monthDay === -1) {
        const form = nthForm();
        return form ? { ...out, type: RECURRENCE_TYPE.MonthlyNth, interval, ...form } : undefined;
      }
      if (setpos !== undefined) return undefined;
      const day = monthDay ?? localStart.getUTCDate();
      if (day < 1 || day > 31) return undefined;
      return { ...out, type: RECURRENCE_TYPE.Monthly, interval, dayOfMonth: day };
    }
    case "YEARLY": {
      const month = r.BYMONTH ? Number(r.BYMONTH) : localStart.getUTCMonth() + 1;
      if (!Number.isInteger(month) || month < 1 || month > 12) return undefined;
      if (r.BYDAY || monthDay === -1) {
        const form = nthForm();
        return form
          ? { ...out, type: RECURRENCE_TYPE.YearlyNth, interval, monthOfYear: month, ...form }
          : undefined;
      }
      if (setpos !== undefined) return undefined;
      const day = monthDay ?? localStart.getUTCDate();
      if (day < 1 || day > 31) return undefined;
      return { ...out, type: RECURRENCE_TYPE.Yearly, interval, dayOfMonth: day, monthOfYear: month };
    }
    default:
      return undefined;
  }
}

/** The bad value of an EAS Recurrence that has no RRULE form. */
export class RecurrenceError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "RecurrenceError";
  }
}

/**
 * The RRULE of an EAS Recurrence. `allDay` writes UNTIL as a DATE
 * (RFC 5545 3.3.10: UNTIL has the type of DTSTART).
 */
export function rruleFromRecurrence(rec: Recurrence, allDay = false): string {
  const parts: string[] = [];
  const interval = rec.interval && rec.interval > 1 ? rec.interval : 1;
  const dow = rec.dayOfWeek ?? 0;
  const week = rec.weekOfMonth ?? 1;
  const pos = week >= 5 ? -1 : week;
  const nthParts = () => {
    if (dow === ANY_DAY && pos === -1) return ["BYMONTHDAY=-1"];
    if (!dow) throw new RecurrenceError(`Recurrence type '${rec.type}' needs DayOfWeek`);
    const codes = dayCodes(dow);
    return codes.includes(",") ? [`BYDAY=${codes}`, `BYSETPOS=${pos}`] : [`BYDAY=${pos}${codes}`];
  };
  switch (rec.type) {
    case RECURRENCE_TYPE.Daily:
      if (dow && dow !== ANY_DAY) parts.push("FREQ=WEEKLY", `BYDAY=${dayCodes(dow)}`);
      else parts.push("FREQ=DAILY");
      break;
    case RECURRENCE_TYPE.Weekly:
      parts.push("FREQ=WEEKLY");
      if (dow) parts.push(`BYDAY=${dayCodes(dow)}`);
      break;
    case RECURRENCE_TYPE.Monthly:
      parts.push("FREQ=MONTHLY");
      if (rec.dayOfMonth) parts.push(`BYMONTHDAY=${rec.dayOfMonth}`);
      break;
    case RECURRENCE_TYPE.MonthlyNth:
      parts.push("FREQ=MONTHLY", ...nthParts());
      break;
    case RECURRENCE_TYPE.Yearly:
      parts.push("FREQ=YEARLY");
      if (rec.monthOfYear) parts.push(`BYMONTH=${rec.monthOfYear}`);
      if (rec.dayOfMonth) parts.push(`BYMONTHDAY=${rec.dayOfMonth}`);
      break;
    case RECURRENCE_TYPE.YearlyNth:
      parts.push("FREQ=YEARLY");
      if (rec.monthOfYear) parts.push(`BYMONTH=${rec.monthOfYear}`);
      parts.push(...nthParts());
      break;
    default:
      throw new RecurrenceError(`Recurrence type '${rec.type}' is not supported`);
  }
  if (interval > 1) parts.splice(1, 0, `INTERVAL=${interval}`);
  if (rec.occurrences) parts.push(`COUNT=${rec.occurrences}`);
  else if (rec.until !== undefined) {
    const ms = rec.until instanceof Date ? rec.until.getTime() : parseCompact(rec.until);
    if (ms === undefined) throw new RecurrenceError(`Recurrence Until '${String(rec.until)}' is not a date`);
    parts.push(`UNTIL=${allDay ? formatCompact(ms).slice(0, 8) : formatCompact(ms)}`);
  }
  if (rec.firstDayOfWeek !== undefined && rec.firstDayOfWeek >= 0 && rec.firstDayOfWeek <= 6) {
    parts.push(`WKST=${WEEKDAY_CODES[rec.firstDayOfWeek]}`);
  }
  return parts.join(";");
}

/** Whether two EAS recurrences say the same (absent interval = 1). */
export function sameRecurrence(a: Recurrence | undefined, b: Recurrence | undefined): boolean {
  if (!a || !b) return a === b;
  const norm = (r: Recurrence) =>
    JSON.stringify([
      r.type,
      r.interval ?? 1,
      r.occurrences ?? 0,
      r.until instanceof Date ? formatCompact(r.until.getTime()) : r.until ?? "",
      r.dayOfWeek ?? 0,
      r.dayOfMonth ?? 0,
      r.weekOfMonth ?? 0,
      r.monthOfYear ?? 0,
    ]);
  return norm(a) === norm(b);
}
