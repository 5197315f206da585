/**
 * iTIP (RFC 5546) for an attendee: the stored copy of an invitation with the
 * user's participation status, and the REPLY / COUNTER sent to the
 * organizer over iMIP (RFC 6047). Pure functions over iCalendar text.
 */
import { MeetingRequestError, type Partstat } from "../../backend/items.ts";
import { addressOf, eventParts, eventTimes, selfAttendee } from "./event_map.ts";
import {
  type Component,
  param,
  prop,
  type Property,
  property,
  props,
  removeProps,
  serialize,
  setProps,
  text,
} from "./ical.ts";
import { formatUtc, parseTimeProperty, timeProperty } from "./ical_time.ts";

/** The parts of an invitation an attendee answers. */
export interface Invitation {
  uid: string;
  summary: string;
  /** The organizer's address (lower case). */
  organizer: string;
  /** The METHOD of the iMIP message, upper case ("" for a stored calendar object). */
  method: string;
  /** The user's address as the invitation names it. */
  self: string;
}

/**
 * Reads an invitation for `selfEmails`; throws MeetingRequestError when it
 * has no VEVENT or organizer, is a REPLY/COUNTER, or the user organizes it
 * (MS-ASCMD 2.2.3.177.9 Status 2).
 */
export function readInvitation(ics: string, selfEmails: readonly string[]): Invitation {
  let parts;
  try {
    parts = eventParts(ics);
  } catch (error) {
    throw new MeetingRequestError(`Not a meeting: ${(error as Error).message}`);
  }
  const method = (text(parts.calendar, "METHOD") ?? "").toUpperCase();
  if (method && method !== "REQUEST" && method !== "PUBLISH" && method !== "ADD") {
    throw new MeetingRequestError(`A '${method}' message is not an invitation`);
  }
  const organizerProp = prop(parts.master, "ORGANIZER");
  if (!organizerProp) throw new MeetingRequestError("The meeting has no organizer");
  const organizer = addressOf(organizerProp.value);
  const selves = selfEmails.map((e) => e.toLowerCase());
  if (selves.includes(organizer)) throw new MeetingRequestError("The user organizes this meeting");
  const attendee = selfAttendee(parts.master, selves);
  return {
    uid: text(parts.master, "UID") ?? "",
    summary: text(parts.master, "SUMMARY") ?? "",
    organizer,
    method,
    self: attendee ? addressOf(attendee.value) : selves.find((s) => s.includes("@")) ?? selves[0] ?? "",
  };
}

/** PARTSTAT of an invitation not answered yet (RFC 5545 3.2.12). */
export const NEEDS_ACTION = "NEEDS-ACTION";

/** Sets the user's PARTSTAT on one VEVENT (adding the user as attendee when the invitation did not name them). */
function setPartstat(event: Component, self: string, partstat: Partstat | typeof NEEDS_ACTION): void {
  const mine = props(event, "ATTENDEE").find((p) => addressOf(p.value) === self);
  const params: Record<string, string[]> = { ...(mine?.params ?? {}), PARTSTAT: [partstat] };
  // The answer is given: no further reply is expected (RFC 5545 3.2.17).
  delete params["RSVP"];
  const updated = property("ATTENDEE", mine?.value ?? `mailto:${self}`, params);
  const others = props(event, "ATTENDEE").filter((p) => p !== mine);
  setProps(
    event,
    "ATTENDEE",
    mine ? props(event, "ATTENDEE").map((p) => p === mine ? updated : p) : [
      ...others,
      updated,
    ],
  );
}

/**
 * The calendar object resource to store for an answered invitation: no
 * METHOD (RFC 4791 4.1 forbids it in stored objects), the user's PARTSTAT in
 * the master and every override.
 */
export function answeredEvent(ics: string, self: string, partstat: Partstat | typeof NEEDS_ACTION): string {
  const parts = eventParts(ics);
  removeProps(parts.calendar, "METHOD");
  for (const event of [parts.master, ...parts.overrides]) {
    setPartstat(event, self, partstat);
    // Shown tentative until answered (MS-ASCAL BusyStatus 1); an answer lets PARTSTAT speak again.
    if (partstat === NEEDS_ACTION) {
      setProps(event, "X-MICROSOFT-CDO-BUSYSTATUS", [property("X-MICROSOFT-CDO-BUSYSTATUS", "TENTATIVE")]);
    } else removeProps(event, "X-MICROSOFT-CDO-BUSYSTATUS");
  }
  return serialize(parts.calendar);
}

/** Properties an occurrence override does not copy from its master (RFC 5545 3.8.4.4, 3.8.5). */
const SERIES_ONLY = ["RRULE", "RDATE", "EXDATE", "DTSTART", "DTEND", "DURATION", "RECURRENCE-ID"];

/**
 * The stored event with the user's answer to one occurrence (MS-ASCMD
 * InstanceId): its override gets the PARTSTAT; an occurrence without one
 * gets an override copied from the master at the instance's time. Returns
 * the RECURRENCE-ID value for the reply; throws MeetingRequestError when
 * the meeting does not recur.
 */
export function answeredOccurrence(
  ics: string,
  self: string,
  partstat: Partstat,
  instanceMs: number,
): { ics: string; recurrenceId: string } {
  const parts = eventParts(ics);
  const { master, vtimezones } = parts;
  if (!prop(master, "RRULE") && !prop(master, "RDATE")) {
    throw new MeetingRequestError("The meeting has no occurrences to answer one by one");
  }
  const { start, end } = eventTimes(master, vtimezones);
  const sameInstant = (p: Property | undefined) => {
    if (!p) return false;
    const t = parseTimeProperty(p, vtimezones);
    // An all-day occurrence is named by its date; the phone sends that date's midnight in any zone.
    return t.allDay ? Math.abs(t.utcMs - instanceMs) < 86_400_000 : t.utcMs === instanceMs;
  };
  let override = parts.overrides.find((o) => sameInstant(prop(o, "RECURRENCE-ID")));
  if (!override) {
    const zone = start.zone;
    override = {
      name: "VEVENT",
      properties: [
        timeProperty("RECURRENCE-ID", instanceMs, zone, start.allDay),
        timeProperty("DTSTART", instanceMs, zone, start.allDay),
        timeProperty("DTEND", instanceMs + (end - start.utcMs), zone, start.allDay),
        ...master.properties.filter((p) => !SERIES_ONLY.includes(p.name)).map((p) => ({
          ...p,
          params: { ...p.params },
        })),
      ],
      components: master.components.map((c) => structuredClone(c)),
    };
    parts.calendar.components.push(override);
  }
  removeProps(parts.calendar, "METHOD");
  setPartstat(override, self, partstat);
  removeProps(override, "X-MICROSOFT-CDO-BUSYSTATUS");
  return { ics: serialize(parts.calendar), recurrenceId: prop(override, "RECURRENCE-ID")!.value };
}

/** The SEQUENCE of an event's master (RFC 5545 3.8.7.4), 0 when absent. */
export function sequenceOf(ics: string): number {
  const value = Number(text(eventParts(ics).master, "SEQUENCE") ?? "0");
  return Number.isFinite(value) ? value : 0;
}

/**
 * A stored event after the organizer's CANCEL (RFC 5546 3.2.5): the whole
 * meeting, or the occurrences the cancel names by RECURRENCE-ID, get
 * STATUS:CANCELLED (shown as canceled, MS-ASCAL MeetingStatus); undefined
 * when the cancel does not come from the stored event's organizer.
 */
export function cancelledEvent(stored: string, cancel: string): string | undefined {
  const parts = eventParts(stored);
  const cancelParts = eventParts(cancel);
  const organizer = (c: Component) => addressOf(prop(c, "ORGANIZER")?.value ?? "");
  if (!organizer(parts.master) || organizer(parts.master) !== organizer(cancelParts.master)) return undefined;
  // A CANCEL whose events all carry RECURRENCE-ID cancels those occurrences only (RFC 5546 3.2.5).
  const cancelled = [cancelParts.master, ...cancelParts.overrides];
  if (cancelled.some((e) => !prop(e, "RECURRENCE-ID"))) {
    for (const event of [parts.master, ...parts.overrides]) {
      setProps(event, "STATUS", [property("STATUS", "CANCELLED")]);
    }
    return serialize(parts.calendar);
  }
  for (const rid of cancelled.map((e) => prop(e, "RECURRENCE-ID")!)) {
    const override = parts.overrides.find((o) => prop(o, "RECURRENCE-ID")?.value === rid.value);
    if (override) setProps(override, "STATUS", [property("STATUS", "CANCELLED")]);
    else {
      // An occurrence without override: excluded from the series (RFC 5545 3.8.5.1).
      const params: Record<string, string[]> = {};
      if (rid.params["TZID"]) params["TZID"] = rid.params["TZID"];
      if (rid.params["VALUE"]) params["VALUE"] = rid.params["VALUE"];
      parts.master.properties.push(property("EXDATE", rid.value, params));
    }
  }
  return serialize(parts.calendar);
}

/**
 * The organizer's stored event after an attendee's REPLY (RFC 5546 3.2.3):
 * the PARTSTAT of each attendee the reply names and the event already
 * lists; undefined when the user does not organize the event or nothing
 * changes.
 */
export function repliedEvent(
  stored: string,
  reply: string,
  selfEmails: readonly string[],
): string | undefined {
  const parts = eventParts(stored);
  const organizer = addressOf(prop(parts.master, "ORGANIZER")?.value ?? "");
  if (!organizer || !selfEmails.includes(organizer)) return undefined;
  const answers = eventParts(reply).master;
  let changed = false;
  for (const answer of props(answers, "ATTENDEE")) {
    const partstat = param(answer, "PARTSTAT")?.toUpperCase();
    if (!partstat) continue;
    for (const event of [parts.master, ...parts.overrides]) {
      for (const attendee of props(event, "ATTENDEE")) {
        if (addressOf(attendee.value) !== addressOf(answer.value)) continue;
        if (param(attendee, "PARTSTAT")?.toUpperCase() === partstat) continue;
        attendee.params = { ...attendee.params, PARTSTAT: [partstat] };
        delete attendee.params["RSVP"];
        changed = true;
      }
    }
  }
  return changed ? serialize(parts.calendar) : undefined;
}

/**
 * Marks a meeting the phone wrote as scheduled by the client (RFC 6638 7.1
 * SCHEDULE-AGENT=CLIENT on ORGANIZER and ATTENDEE): EAS phones send their
 * own invitations and replies through SendMail (MS-ASCMD 4.16), so a CalDAV
 * server that schedules by itself must not send a second copy.
 */
export function clientScheduled(ics: string): string {
  const calendar = eventParts(ics).calendar;
  let changed = false;
  for (const event of calendar.components.filter((c) => c.name === "VEVENT")) {
    if (!prop(event, "ATTENDEE")) continue;
    for (const p of event.properties) {
      if (p.name !== "ATTENDEE" && p.name !== "ORGANIZER") continue;
      if (param(p, "SCHEDULE-AGENT")?.toUpperCase() === "CLIENT") continue;
      p.params = { ...p.params, "SCHEDULE-AGENT": ["CLIENT"] };
      changed = true;
    }
  }
  return changed ? serialize(calendar) : ics;
}

/**
 * The iTIP REPLY (RFC 5546 3.2.3) of the user, or a COUNTER (3.2.7) with
 * the proposed times: only the user as attendee, the organizer, UID,
 * SEQUENCE and the times of the master event.
 */
export function replyCalendar(
  ics: string,
  self: string,
  partstat: Partstat,
  options: {
    now: number;
    proposed?: { startMs: number; endMs: number };
    prodId: string;
    /** Answer one occurrence: the RECURRENCE-ID value of its override in `ics`. */
    recurrenceId?: string;
  },
): { method: "REPLY" | "COUNTER"; ics: string } {
  const parts = eventParts(ics);
  const master =
    (options.recurrenceId !== undefined
      ? parts.overrides.find((o) => prop(o, "RECURRENCE-ID")?.value === options.recurrenceId)
      : undefined) ?? parts.master;
  const method = options.proposed ? "COUNTER" : "REPLY";
  const mine = props(master, "ATTENDEE").find((p) => addressOf(p.value) === self);
  const attendeeParams: Record<string, string[]> = { PARTSTAT: [partstat] };
  const cn = mine ? param(mine, "CN") : undefined;
  if (cn) attendeeParams["CN"] = [cn];
  const keep = (name: string) => master.properties.filter((p) => p.name === name);
  const event: Component = {
    name: "VEVENT",
    properties: [
      ...keep("UID"),
      property("DTSTAMP", formatUtc(options.now)),
      ...keep("SEQUENCE"),
      ...keep("ORGANIZER"),
      ...keep("RECURRENCE-ID"),
      property("ATTENDEE", mine?.value ?? `mailto:${self}`, attendeeParams),
      ...(options.proposed
        ? [
          property("DTSTART", formatUtc(options.proposed.startMs)),
          property("DTEND", formatUtc(options.proposed.endMs)),
        ]
        : [...keep("DTSTART"), ...keep("DTEND"), ...keep("DURATION")]),
      ...keep("SUMMARY"),
    ],
    components: [],
  };
  const usedZones = new Set(
    event.properties.map((p) => param(p, "TZID")).filter((z): z is string => z !== undefined),
  );
  const calendar: Component = {
    name: "VCALENDAR",
    properties: [
      property("VERSION", "2.0"),
      property("PRODID", options.prodId),
      property("METHOD", method),
    ],
    components: [
      ...parts.vtimezones.filter((z) => usedZones.has(text(z, "TZID") ?? "")),
      event,
    ],
  };
  return { method, ics: serialize(calendar) };
}
