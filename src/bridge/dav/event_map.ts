/**
 * VEVENT (RFC 5545 3.6.1) <-> EAS calendar item (MS-ASCAL). Reading takes a
 * whole VCALENDAR object resource: the master VEVENT plus its overrides
 * (RECURRENCE-ID) and EXDATEs become Exceptions. Writing merges the phone's
 * item into the stored object: a field the phone sends replaces the stored
 * one, a field it drops that we had sent it is removed, and everything it
 * never saw (unknown properties, rules EAS cannot express, X- properties,
 * the body when it only got a truncated one) is kept as it was.
 */
import type { BodyPreference } from "../../backend/mail.ts";
import {
  type Appointment,
  type AppointmentException,
  type Attendee,
  ATTENDEE_TYPE,
  BUSY_STATUS,
  MEETING_STATUS,
  RESPONSE_TYPE,
  SENSITIVITY,
} from "../../eas/model/calendar.ts";
import { bodyOf, textOfBody } from "./_body.ts";
import {
  type Component,
  escapeText,
  param,
  parseComponents,
  prop,
  type Property,
  property,
  props,
  removeProps,
  serialize,
  setProps,
  setText,
  splitValue,
  text,
  textValue,
} from "./ical.ts";
import {
  formatCompact,
  formatUtc,
  type IcalTime,
  parseCompact,
  parseDuration,
  parseTimeList,
  parseTimeProperty,
  timeProperty,
} from "./ical_time.ts";
import { recurrenceFromRrule, rruleFromRecurrence, sameRecurrence } from "./recurrence.ts";
import {
  encodeTimezoneBlob,
  sameRule,
  UTC_ZONE,
  utcToLocal,
  vtimezoneOf,
  type Zone,
  zoneFromBlob,
} from "./timezone.ts";

/** Who reads the calendar and how bodies are sent. */
export interface EventReadOptions {
  /** The user's own addresses (lower case), to tell organizer from attendee. */
  selfEmails: readonly string[];
  bodyPreferences?: readonly BodyPreference[];
}

/** A calendar object that cannot be turned into an EAS item. */
export class EventMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EventMappingError";
  }
}

/** PARTSTAT <-> AttendeeStatus/ResponseType (MS-ASCAL 2.2.2.4). */
export const PARTSTAT_TO_STATUS: Readonly<Record<string, number>> = {
  "NEEDS-ACTION": RESPONSE_TYPE.NotResponded,
  ACCEPTED: RESPONSE_TYPE.Accepted,
  DECLINED: RESPONSE_TYPE.Declined,
  TENTATIVE: RESPONSE_TYPE.Tentative,
  DELEGATED: RESPONSE_TYPE.None,
};

/** AttendeeStatus -> PARTSTAT. */
export const STATUS_TO_PARTSTAT: Readonly<Record<number, string>> = {
  [RESPONSE_TYPE.Tentative]: "TENTATIVE",
  [RESPONSE_TYPE.Accepted]: "ACCEPTED",
  [RESPONSE_TYPE.Declined]: "DECLINED",
  [RESPONSE_TYPE.NotResponded]: "NEEDS-ACTION",
};

/** CLASS <-> Sensitivity (MS-ASCAL 2.2.2.41). */
export const CLASS_TO_SENSITIVITY: Readonly<Record<string, number>> = {
  PUBLIC: SENSITIVITY.Normal,
  PRIVATE: SENSITIVITY.Private,
  CONFIDENTIAL: SENSITIVITY.Confidential,
};

/** X-MICROSOFT-CDO-BUSYSTATUS values <-> BusyStatus (MS-ASCAL 2.2.2.8). */
export const CDO_BUSY: Readonly<Record<string, number>> = {
  FREE: BUSY_STATUS.Free,
  TENTATIVE: BUSY_STATUS.Tentative,
  BUSY: BUSY_STATUS.Busy,
  OOF: BUSY_STATUS.OutOfOffice,
  WORKINGELSEWHERE: BUSY_STATUS.WorkingElsewhere,
};

/** The address of a mailto: (or bare) calendar user address, lower case. */
export function addressOf(value: string): string {
  return value.replace(/^mailto:/i, "").trim().toLowerCase();
}

/** VTIMEZONEs, the master VEVENT and its overrides of a VCALENDAR. */
export interface EventParts {
  calendar: Component;
  master: Component;
  overrides: Component[];
  vtimezones: Component[];
}

/** Splits a calendar object resource into its parts; throws when it has no VEVENT. */
export function eventParts(ics: string, componentName = "VEVENT"): EventParts {
  const calendar = parseComponents(ics).find((c) => c.name === "VCALENDAR");
  if (!calendar) throw new EventMappingError("No VCALENDAR component");
  const events = calendar.components.filter((c) => c.name === componentName);
  const master = events.find((e) => !prop(e, "RECURRENCE-ID")) ?? events[0];
  if (!master) throw new EventMappingError(`No ${componentName} component`);
  return {
    calendar,
    master,
    overrides: events.filter((e) => e !== master && prop(e, "RECURRENCE-ID")),
    vtimezones: calendar.components.filter((c) => c.name === "VTIMEZONE"),
  };
}

/** Start, end, zone and all-day flag of a VEVENT. */
export function eventTimes(
  event: Component,
  vtimezones: Component[],
): { start: IcalTime; end: number; zone: Zone } {
  const dtstart = prop(event, "DTSTART");
  if (!dtstart) throw new EventMappingError("VEVENT has no DTSTART");
  const start = parseTimeProperty(dtstart, vtimezones);
  const dtend = prop(event, "DTEND") ?? prop(event, "DUE");
  const duration = prop(event, "DURATION");
  let end: number;
  if (dtend) end = parseTimeProperty(dtend, vtimezones).utcMs;
  else if (duration && parseDuration(duration.value) !== undefined) {
    end = start.utcMs + parseDuration(duration.value)!;
  } else end = start.utcMs + (start.allDay ? 86_400_000 : 0);
  if (end < start.utcMs) end = start.utcMs;
  return { start, end, zone: start.zone ?? UTC_ZONE };
}

/** Minutes before the start of the first display/audio alarm relative to the start, or undefined. */
export function reminderOf(event: Component): number | undefined {
  for (const alarm of event.components.filter((c) => c.name === "VALARM")) {
    const trigger = prop(alarm, "TRIGGER");
    if (!trigger || param(trigger, "VALUE") === "DATE-TIME" || param(trigger, "RELATED") === "END") continue;
    const ms = parseDuration(trigger.value);
    if (ms !== undefined && ms <= 0) return Math.round(-ms / 60_000);
  }
  return undefined;
}

/** Every CATEGORIES value (several properties and comma lists). */
export function categoriesOf(c: Component): string[] | undefined {
  const all = props(c, "CATEGORIES").flatMap((p) => splitValue(p.value, ",")).map((s) => s.trim()).filter((
    s,
  ) => s);
  return all.length ? all : undefined;
}

/** Busy status: X-MICROSOFT-CDO-BUSYSTATUS, else TRANSP and STATUS. */
export function busyOf(event: Component): number {
  const cdo = text(event, "X-MICROSOFT-CDO-BUSYSTATUS")?.toUpperCase();
  if (cdo && CDO_BUSY[cdo] !== undefined) return CDO_BUSY[cdo]!;
  if (text(event, "TRANSP")?.toUpperCase() === "TRANSPARENT") return BUSY_STATUS.Free;
  if (text(event, "STATUS")?.toUpperCase() === "TENTATIVE") return BUSY_STATUS.Tentative;
  return BUSY_STATUS.Busy;
}

function attendeesOf(event: Component): Attendee[] {
  return props(event, "ATTENDEE").map((p) => {
    const role = param(p, "ROLE")?.toUpperCase();
    const cutype = param(p, "CUTYPE")?.toUpperCase();
    const email = addressOf(p.value);
    return {
      email,
      name: param(p, "CN") ?? email,
      attendeeStatus: PARTSTAT_TO_STATUS[param(p, "PARTSTAT")?.toUpperCase() ?? "NEEDS-ACTION"] ??
        RESPONSE_TYPE.NotResponded,
      attendeeType: cutype === "RESOURCE" || cutype === "ROOM"
        ? ATTENDEE_TYPE.Resource
        : role === "OPT-PARTICIPANT" || role === "NON-PARTICIPANT"
        ? ATTENDEE_TYPE.Optional
        : ATTENDEE_TYPE.Required,
    };
  });
}

/** The user's own ATTENDEE property, if the user is invited. */
export function selfAttendee(event: Component, selfEmails: readonly string[]): Property | undefined {
  return props(event, "ATTENDEE").find((p) => selfEmails.includes(addressOf(p.value)));
}

/** The online meeting link of an event, if any (Teams/Skype X- properties, RFC 7986 CONFERENCE, URL). */
function onlineLinkOf(event: Component): string | undefined {
  const conference = props(event, "CONFERENCE").find((p) => /^https?:/i.test(p.value));
  return text(event, "X-MICROSOFT-SKYPETEAMSMEETINGURL") ?? text(event, "X-GOOGLE-CONFERENCE") ??
    conference?.value ?? undefined;
}

/** The meeting fields of one VEVENT as the user sees them. */
function meetingFields(event: Component, options: EventReadOptions): Partial<Appointment> {
  const out: Partial<Appointment> = {};
  const organizer = prop(event, "ORGANIZER");
  const attendees = attendeesOf(event);
  const cancelled = text(event, "STATUS")?.toUpperCase() === "CANCELLED";
  if (organizer) {
    out.organizerEmail = addressOf(organizer.value);
    out.organizerName = param(organizer, "CN") ?? out.organizerEmail;
  }
  if (!attendees.length) {
    out.meetingStatus = cancelled ? MEETING_STATUS.MeetingCanceled : MEETING_STATUS.Appointment;
    return out;
  }
  out.attendees = attendees;
  const own = selfAttendee(event, options.selfEmails);
  const isOrganizer = !organizer || options.selfEmails.includes(addressOf(organizer.value));
  if (isOrganizer) {
    out.meetingStatus = cancelled ? MEETING_STATUS.MeetingCanceled : MEETING_STATUS.Meeting;
    out.responseType = RESPONSE_TYPE.Organizer;
  } else {
    out.meetingStatus = cancelled ? MEETING_STATUS.MeetingReceivedCanceled : MEETING_STATUS.MeetingReceived;
    out.responseType = own
      ? PARTSTAT_TO_STATUS[param(own, "PARTSTAT")?.toUpperCase() ?? "NEEDS-ACTION"] ??
        RESPONSE_TYPE.NotResponded
      : RESPONSE_TYPE.None;
    out.responseRequested = own ? param(own, "RSVP")?.toUpperCase() === "TRUE" : false;
  }
  out.disallowNewTimeProposal = text(event, "X-MICROSOFT-DISALLOW-COUNTER")?.toUpperCase() === "TRUE";
  return out;
}

/** The EAS calendar item of a calendar object resource (master, overrides and EXDATEs). */
export function appointmentFromIcs(ics: string, options: EventReadOptions): Appointment {
  return appointmentFromParts(eventParts(ics), options);
}

/** The EAS calendar item of already parsed parts. */
export function appointmentFromParts(parts: EventParts, options: EventReadOptions): Appointment {
  const { master, vtimezones } = parts;
  const { start, end, zone } = eventTimes(master, vtimezones);
  const prefs = options.bodyPreferences ?? [];
  const app: Appointment = {
    timezone: encodeTimezoneBlob(zone.windows(start.utcMs)),
    allDayEvent: start.allDay,
    startTime: formatCompact(start.utcMs),
    endTime: formatCompact(end),
    dtStamp: formatCompact(
      (prop(master, "DTSTAMP") ? parseCompact(formatUtcText(prop(master, "DTSTAMP")!.value)) : undefined) ??
        start.utcMs,
    ),
    busyStatus: busyOf(master),
    sensitivity: CLASS_TO_SENSITIVITY[text(master, "CLASS")?.toUpperCase() ?? "PUBLIC"] ??
      SENSITIVITY.Private,
    ...meetingFields(master, options),
  };
  const uid = text(master, "UID");
  if (uid) app.uid = uid;
  const summary = text(master, "SUMMARY");
  if (summary !== undefined) app.subject = summary;
  const location = text(master, "LOCATION");
  if (location) {
    app.location = location;
    app.location16 = { displayName: location };
  }
  const description = text(master, "DESCRIPTION");
  if (description) app.body = bodyOf(description, prefs);
  const reminder = reminderOf(master);
  if (reminder !== undefined) app.reminder = reminder;
  const categories = categoriesOf(master);
  if (categories) app.categories = categories;
  const link = onlineLinkOf(master);
  if (link) app.onlineMeetingExternalLink = link;
  const confLink = text(master, "X-MICROSOFT-ONLINEMEETINGCONFLINK");
  if (confLink) app.onlineMeetingConfLink = confLink;
  const rrule = prop(master, "RRULE");
  if (rrule) {
    const rec = recurrenceFromRrule(rrule.value, new Date(utcToLocal(zone, start.utcMs)));
    if (rec) {
      app.recurrence = rec;
      const exceptions = exceptionsOf(parts, zone, start.allDay, app, options);
      if (exceptions.length) app.exceptions = exceptions;
    }
  }
  return app;
}

function formatUtcText(value: string): string {
  return /^\d{8}T\d{6}$/.test(value) ? `${value}Z` : value;
}

function exceptionsOf(
  parts: EventParts,
  zone: Zone,
  allDay: boolean,
  master: Appointment,
  options: EventReadOptions,
): AppointmentException[] {
  const out: AppointmentException[] = [];
  const seen = new Set<string>();
  for (const p of props(parts.master, "EXDATE")) {
    for (const t of parseTimeList(p, parts.vtimezones, zone)) {
      const when = formatCompact(t.utcMs);
      if (seen.has(when)) continue;
      seen.add(when);
      out.push({ deleted: true, exceptionStartTime: when });
    }
  }
  for (const o of parts.overrides) {
    const rid = parseTimeProperty(prop(o, "RECURRENCE-ID")!, parts.vtimezones, zone);
    const when = formatCompact(rid.utcMs);
    if (seen.has(when)) continue;
    seen.add(when);
    if (text(o, "STATUS")?.toUpperCase() === "CANCELLED" && !prop(o, "ATTENDEE")) {
      out.push({ deleted: true, exceptionStartTime: when });
      continue;
    }
    const times = eventTimes(o, parts.vtimezones);
    const ex: AppointmentException = {
      exceptionStartTime: when,
      startTime: formatCompact(times.start.utcMs),
      endTime: formatCompact(times.end),
    };
    const subject = text(o, "SUMMARY");
    if (subject !== undefined && subject !== master.subject) ex.subject = subject;
    const location = text(o, "LOCATION");
    if (location !== undefined && location !== master.location) {
      ex.location = location;
      ex.location16 = { displayName: location };
    }
    const description = text(o, "DESCRIPTION");
    if (description && description !== text(parts.master, "DESCRIPTION")) {
      ex.body = bodyOf(description, options.bodyPreferences ?? []);
    }
    if (times.start.allDay !== allDay) ex.allDayEvent = times.start.allDay;
    const busy = busyOf(o);
    if (busy !== master.busyStatus) ex.busyStatus = busy;
    const reminder = reminderOf(o);
    if (reminder !== undefined && reminder !== master.reminder) ex.reminder = reminder;
    const meeting = meetingFields(o, options);
    if (meeting.meetingStatus !== master.meetingStatus) ex.meetingStatus = meeting.meetingStatus!;
    if (meeting.responseType !== undefined && meeting.responseType !== master.responseType) {
      ex.responseType = meeting.responseType;
    }
    if (meeting.attendees && JSON.stringify(meeting.attendees) !== JSON.stringify(master.attendees)) {
      ex.attendees = meeting.attendees;
    }
    out.push(ex);
  }
  return out.sort((a, b) => a.exceptionStartTime!.localeCompare(b.exceptionStartTime!));
}

/** Who writes and what the merge needs. */
export interface EventWriteOptions extends EventReadOptions {
  /** The user's primary address, written as ORGANIZER of meetings created on the phone. */
  selfEmail?: string;
  selfName?: string;
  /** PRODID of new objects. */
  prodId?: string;
  now?: number;
}

/** A new UID for an item created on the phone. */
export function newUid(): string {
  return `${crypto.randomUUID()}@pushbridge`;
}

/** Result of writing an appointment: the text, its UID, and whether times/recurrence changed (SEQUENCE). */
export interface EventWrite {
  ics: string;
  uid: string;
  rescheduled: boolean;
}

/**
 * Merges an EAS calendar item into a stored calendar object (or a new one)
 * and serialises it. See the module comment for what is kept.
 */
export function icsFromAppointment(
  app: Appointment,
  stored: string | undefined,
  options: EventWriteOptions,
): EventWrite {
  const now = options.now ?? Date.now();
  const parts = stored ? eventParts(stored) : newCalendar(app, options);
  const exported: Appointment = stored ? appointmentFromParts(parts, options) : {};
  const { calendar, master } = parts;
  const dropped = (f: keyof Appointment) => app[f] === undefined && exported[f] !== undefined;
  const touched = (f: keyof Appointment) => app[f] !== undefined || dropped(f);

  // Times and zone: a phone blob with the same rule as the stored zone keeps the stored TZID.
  const storedTimes = stored ? eventTimes(master, parts.vtimezones) : undefined;
  let zone: Zone = storedTimes?.zone ?? UTC_ZONE;
  if (app.timezone) {
    const phoneZone = zoneFromBlob(app.timezone);
    const at = parseCompact(app.startTime) ?? now;
    if (!storedTimes || !sameRule(phoneZone.windows(at), storedTimes.zone.windows(at))) zone = phoneZone;
  }
  const startMs = parseCompact(app.startTime) ?? storedTimes?.start.utcMs;
  if (startMs === undefined) throw new EventMappingError("The calendar item has no StartTime");
  const endMs = parseCompact(app.endTime) ?? storedTimes?.end ?? startMs;
  const allDay = app.allDayEvent ?? storedTimes?.start.allDay ?? false;
  const rescheduled = !storedTimes || storedTimes.start.utcMs !== startMs || storedTimes.end !== endMs ||
    storedTimes.start.allDay !== allDay ||
    (app.recurrence !== undefined && !sameRecurrence(app.recurrence, exported.recurrence));
  setProps(master, "DTSTART", [timeProperty("DTSTART", startMs, zone, allDay)]);
  removeProps(master, "DURATION");
  setProps(master, "DTEND", [timeProperty("DTEND", Math.max(endMs, startMs), zone, allDay)]);

  if (touched("subject")) setText(master, "SUMMARY", app.subject);
  const location = app.location ?? app.location16?.displayName;
  if (location !== undefined || dropped("location")) setText(master, "LOCATION", location);
  const body = textOfBody(app.body) ?? app.body25;
  if (body !== undefined) setText(master, "DESCRIPTION", body);
  if (touched("sensitivity")) {
    const cls = Object.entries(CLASS_TO_SENSITIVITY).find(([, v]) => v === app.sensitivity)?.[0];
    setProps(master, "CLASS", cls && cls !== "PUBLIC" ? [property("CLASS", cls)] : []);
  }
  if (app.busyStatus !== undefined && app.busyStatus !== exported.busyStatus) {
    const cdo = Object.entries(CDO_BUSY).find(([, v]) => v === app.busyStatus)?.[0] ?? "BUSY";
    setProps(master, "TRANSP", [
      property("TRANSP", app.busyStatus === BUSY_STATUS.Free ? "TRANSPARENT" : "OPAQUE"),
    ]);
    setProps(master, "X-MICROSOFT-CDO-BUSYSTATUS", [property("X-MICROSOFT-CDO-BUSYSTATUS", cdo)]);
  }
  if (touched("categories")) {
    setProps(
      master,
      "CATEGORIES",
      app.categories?.length ? [property("CATEGORIES", app.categories.map(escapeText).join(","))] : [],
    );
  }
  if (touched("reminder") && app.reminder !== exported.reminder) setReminder(master, app.reminder);
  if (app.onlineMeetingExternalLink && app.onlineMeetingExternalLink !== exported.onlineMeetingExternalLink) {
    setText(master, "X-MICROSOFT-SKYPETEAMSMEETINGURL", app.onlineMeetingExternalLink);
  }
  if (app.disallowNewTimeProposal !== undefined) {
    setProps(
      master,
      "X-MICROSOFT-DISALLOW-COUNTER",
      app.disallowNewTimeProposal ? [property("X-MICROSOFT-DISALLOW-COUNTER", "TRUE")] : [],
    );
  }
  if (touched("attendees")) writeAttendees(master, app, options);
  if (app.meetingStatus !== undefined && (app.meetingStatus & 4) !== 0) {
    setProps(master, "STATUS", [property("STATUS", "CANCELLED")]);
  }

  // Recurrence: the stored RRULE stays when the phone's recurrence says the same thing (or EAS could not express it).
  if (app.recurrence !== undefined) {
    if (!sameRecurrence(app.recurrence, exported.recurrence) || !prop(master, "RRULE")) {
      setProps(master, "RRULE", [property("RRULE", rruleFromRecurrence(app.recurrence, allDay))]);
    }
  } else if (exported.recurrence !== undefined) {
    removeProps(master, "RRULE", "EXDATE", "RDATE");
    calendar.components = calendar.components.filter((c) => !parts.overrides.includes(c));
    parts.overrides = [];
  }
  if (app.exceptions !== undefined && prop(master, "RRULE")) {
    writeExceptions(parts, app, zone, allDay, options);
  }

  const sequence = Number(text(master, "SEQUENCE") ?? "0");
  if (stored && rescheduled) setProps(master, "SEQUENCE", [property("SEQUENCE", String(sequence + 1))]);
  setProps(master, "DTSTAMP", [property("DTSTAMP", formatUtc(now))]);
  setProps(master, "LAST-MODIFIED", [property("LAST-MODIFIED", formatUtc(now))]);
  ensureVtimezones(calendar, now);
  return { ics: serialize(calendar), uid: text(master, "UID")!, rescheduled };
}

function newCalendar(app: Appointment, options: EventWriteOptions, name = "VEVENT"): EventParts {
  const master: Component = {
    name,
    properties: [property("UID", escapeText(app.uid || app.clientUid || newUid()))],
    components: [],
  };
  const calendar: Component = {
    name: "VCALENDAR",
    properties: [
      property("VERSION", "2.0"),
      property("PRODID", options.prodId ?? "-//Pushbridge//EAS bridge//EN"),
    ],
    components: [master],
  };
  return { calendar, master, overrides: [], vtimezones: [] };
}

/** Replaces the first relative display alarm (or adds one); undefined removes it. */
export function setReminder(event: Component, minutes: number | undefined): void {
  const index = event.components.findIndex((c) =>
    c.name === "VALARM" && reminderOf({ ...event, components: [c] }) !== undefined
  );
  const alarm: Component | undefined = minutes === undefined ? undefined : {
    name: "VALARM",
    properties: [
      property("ACTION", "DISPLAY"),
      property("DESCRIPTION", "Reminder"),
      property("TRIGGER", minutes === 0 ? "PT0S" : `-PT${minutes}M`),
    ],
    components: [],
  };
  if (index >= 0) event.components.splice(index, 1, ...(alarm ? [alarm] : []));
  else if (alarm) event.components.push(alarm);
}

function writeAttendees(event: Component, app: Appointment, options: EventWriteOptions): void {
  const existing = props(event, "ATTENDEE");
  const attendees = (app.attendees ?? []).filter((a) => a.email);
  const next = attendees.map((a) => {
    const old = existing.find((p) => addressOf(p.value) === a.email.toLowerCase());
    const params: Record<string, string[]> = old
      ? { ...old.params }
      : { PARTSTAT: ["NEEDS-ACTION"], RSVP: ["TRUE"] };
    if (a.name && a.name !== a.email) params.CN = [a.name];
    if (a.attendeeType === ATTENDEE_TYPE.Optional) params.ROLE = ["OPT-PARTICIPANT"];
    else if (a.attendeeType === ATTENDEE_TYPE.Resource) params.CUTYPE = ["RESOURCE"];
    else if (!old) params.ROLE = ["REQ-PARTICIPANT"];
    return property("ATTENDEE", `mailto:${a.email}`, params);
  });
  setProps(event, "ATTENDEE", next);
  if (next.length && !prop(event, "ORGANIZER")) {
    const email = app.organizerEmail || options.selfEmail;
    if (email) {
      const name = app.organizerName || options.selfName;
      setProps(event, "ORGANIZER", [property("ORGANIZER", `mailto:${email}`, name ? { CN: [name] } : {})]);
    }
  }
  if (!next.length) removeProps(event, "ORGANIZER");
}

function writeExceptions(
  parts: EventParts,
  app: Appointment,
  zone: Zone,
  allDay: boolean,
  options: EventWriteOptions,
): void {
  const { calendar, master } = parts;
  const exdates: Property[] = [];
  const keep: Component[] = [];
  for (const ex of app.exceptions ?? []) {
    const when = parseCompact(ex.exceptionStartTime);
    if (when === undefined) continue;
    if (ex.deleted) {
      exdates.push(timeProperty("EXDATE", when, zone, allDay));
      continue;
    }
    let override = parts.overrides.find((o) =>
      parseTimeProperty(prop(o, "RECURRENCE-ID")!, parts.vtimezones, zone).utcMs === when
    );
    if (!override) {
      override = {
        name: "VEVENT",
        properties: master.properties.filter((p) =>
          [
            "UID",
            "SUMMARY",
            "LOCATION",
            "DESCRIPTION",
            "ORGANIZER",
            "ATTENDEE",
            "CLASS",
            "TRANSP",
            "CATEGORIES",
          ]
            .includes(p.name)
        ).map((p) => ({ ...p, params: { ...p.params } })),
        components: [],
      };
      override.properties.push(timeProperty("RECURRENCE-ID", when, zone, allDay));
    }
    const exAllDay = ex.allDayEvent ?? allDay;
    const s = parseCompact(ex.startTime);
    const e = parseCompact(ex.endTime);
    if (s !== undefined) setProps(override, "DTSTART", [timeProperty("DTSTART", s, zone, exAllDay)]);
    if (e !== undefined) {
      removeProps(override, "DURATION");
      setProps(override, "DTEND", [timeProperty("DTEND", e, zone, exAllDay)]);
    }
    if (ex.subject !== undefined) setText(override, "SUMMARY", ex.subject);
    const location = ex.location ?? ex.location16?.displayName;
    if (location !== undefined) setText(override, "LOCATION", location);
    const body = textOfBody(ex.body);
    if (body !== undefined) setText(override, "DESCRIPTION", body);
    if (ex.reminder !== undefined) setReminder(override, ex.reminder);
    if (ex.busyStatus !== undefined) {
      setProps(override, "TRANSP", [
        property("TRANSP", ex.busyStatus === BUSY_STATUS.Free ? "TRANSPARENT" : "OPAQUE"),
      ]);
    }
    if (ex.attendees !== undefined) writeAttendees(override, { attendees: ex.attendees }, options);
    setProps(override, "DTSTAMP", [property("DTSTAMP", formatUtc(options.now ?? Date.now()))]);
    keep.push(override);
  }
  setProps(master, "EXDATE", exdates);
  calendar.components = calendar.components.filter((c) => !parts.overrides.includes(c));
  calendar.components.push(...keep);
  parts.overrides = keep;
}

/** Adds a VTIMEZONE for every TZID used and not defined; drops VTIMEZONEs no longer used. */
export function ensureVtimezones(calendar: Component, now: number): void {
  const used = new Set<string>();
  const visit = (c: Component) => {
    for (const p of c.properties) {
      const tzid = param(p, "TZID");
      if (tzid) used.add(tzid);
    }
    c.components.forEach(visit);
  };
  calendar.components.filter((c) => c.name !== "VTIMEZONE").forEach(visit);
  const defined = calendar.components.filter((c) => c.name === "VTIMEZONE");
  calendar.components = calendar.components.filter((c) =>
    c.name !== "VTIMEZONE" || used.has(prop(c, "TZID")?.value ?? "")
  );
  const missing = [...used].filter((id) => !defined.some((d) => prop(d, "TZID")?.value === id));
  if (!missing.length) return;
  const zones: Component[] = [];
  for (const id of missing) {
    const zone = zoneFor(id, defined);
    if (zone) zones.push(vtimezoneOf(zone, new Date(now).getUTCFullYear()));
  }
  calendar.components.unshift(...zones);
}

function zoneFor(id: string, defined: Component[]): Zone | undefined {
  try {
    const parsed = parseTimeProperty(property("X", "20200101T000000", { TZID: [id] }), defined);
    return parsed.floating ? undefined : parsed.zone;
  } catch {
    return undefined;
  }
}

/** The UID of a calendar object (first component with one). */
export function uidOfIcs(ics: string): string | undefined {
  const calendar = parseComponents(ics).find((c) => c.name === "VCALENDAR");
  const first = calendar?.components.find((c) => prop(c, "UID"));
  return first ? textValue(prop(first, "UID")!.value) : undefined;
}

/** The instant after which no occurrence starts (FilterType window): end of the last occurrence. */
export function lastOccurrenceEnd(parts: EventParts): number {
  const { master, vtimezones } = parts;
  const times = eventTimes(master, vtimezones);
  const rrule = prop(master, "RRULE")?.value;
  if (!rrule && !prop(master, "RDATE")) return times.end;
  const until = /UNTIL=([0-9TZ]+)/i.exec(rrule ?? "")?.[1];
  if (until) {
    return (parseCompact(/^\d{8}$/.test(until) ? `${until}T235959Z` : formatUtcText(until)) ?? times.end) +
      (times.end - times.start.utcMs);
  }
  // COUNT or unbounded: treated as never ending (the device decides what to show).
  return 8_000_000_000_000;
}
