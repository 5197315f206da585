/**
 * iMIP (RFC 6047) invitations seen in mail: the fields of an Email
 * MeetingRequest (MS-ASEMAIL 2.2.2.48) from a text/calendar part, for the
 * mail conversion to attach to the message.
 */
import { appointmentFromParts, eventParts } from "./event_map.ts";
import { prop, text } from "./ical.ts";
import { parseTimeProperty } from "./ical_time.ts";
import { formatCompact, parseCompact } from "./ical_time.ts";
import type { Recurrence } from "../../eas/model/calendar.ts";
import { MEETING_MESSAGE_TYPE, type MeetingRequest } from "../../eas/model/email.ts";

/** Email:MeetingRequest fields (MS-ASEMAIL 2.2.2.48); dates in the compact form. */
export interface MeetingRequestFields {
  /** The iTIP method: REQUEST, CANCEL, REPLY, COUNTER... */
  method: string;
  /** MessageClass the mail should carry (MS-ASEMAIL 2.2.2.52). */
  messageClass: string;
  allDayEvent: boolean;
  startTime: string;
  endTime: string;
  dtStamp: string;
  /** 0 single, 1 recurring master, 3 exception (MS-ASEMAIL 2.2.2.41 InstanceType). */
  instanceType: number;
  location?: string;
  organizer?: string;
  recurrenceId?: string;
  reminder?: number;
  responseRequested: boolean;
  sensitivity: number;
  busyStatus: number;
  timeZone: string;
  /** Base64 GlobalObjId built from the UID (MS-ASEMAIL 2.2.2.38, MS-OXOCAL 2.2.1.27 "vCal-Uid" form). */
  globalObjId: string;
  disallowNewTimeProposal: boolean;
  uid: string;
  /** The calendar's appointment (MS-ASCAL) for placing it as tentative. */
  recurrence?: unknown;
}

/** MessageClass per iTIP method. */
export const METHOD_CLASS: Readonly<Record<string, string>> = {
  REQUEST: "IPM.Schedule.Meeting.Request",
  CANCEL: "IPM.Schedule.Meeting.Canceled",
};

/**
 * The MeetingRequest fields of an iMIP text/calendar body, or undefined when
 * it is not an invitation or cancellation (no METHOD, a REPLY, no VEVENT).
 */
export function meetingRequestFromIcs(
  ics: string,
  selfEmails: readonly string[] = [],
): MeetingRequestFields | undefined {
  let parts;
  try {
    parts = eventParts(ics);
  } catch {
    return undefined;
  }
  const method = (text(parts.calendar, "METHOD") ?? "").toUpperCase();
  const messageClass = METHOD_CLASS[method];
  if (!messageClass) return undefined;
  const app = appointmentFromParts(parts, { selfEmails });
  const uid = app.uid ?? "";
  const rid = prop(parts.master, "RECURRENCE-ID");
  const out: MeetingRequestFields = {
    method,
    messageClass,
    allDayEvent: app.allDayEvent ?? false,
    startTime: app.startTime!,
    endTime: app.endTime!,
    dtStamp: app.dtStamp!,
    instanceType: rid ? 3 : app.recurrence ? 1 : 0,
    responseRequested: app.responseRequested ?? true,
    sensitivity: app.sensitivity ?? 0,
    // A new invitation is shown tentative until answered (MS-ASEMAIL 2.2.2.8 BusyStatus).
    busyStatus: method === "CANCEL" ? 0 : 1,
    timeZone: app.timezone!,
    globalObjId: globalObjIdOf(uid),
    disallowNewTimeProposal: app.disallowNewTimeProposal ?? false,
    uid,
  };
  if (app.location) out.location = app.location;
  if (app.organizerEmail) {
    out.organizer = app.organizerName && app.organizerName !== app.organizerEmail
      ? `"${app.organizerName}" <${app.organizerEmail}>`
      : app.organizerEmail;
  }
  if (rid) out.recurrenceId = formatCompact(parseTimeProperty(rid, parts.vtimezones).utcMs);
  if (app.reminder !== undefined) out.reminder = app.reminder;
  if (app.recurrence) out.recurrence = app.recurrence;
  return out;
}

/**
 * GlobalObjId for a UID that is not an Outlook one (MS-OXOCAL 2.2.1.27):
 * the fixed class id, zero instance date and creation time, then "vCal-Uid",
 * version 1 and the UID bytes with a terminating NUL.
 */
export function globalObjIdOf(uid: string): string {
  const head = [
    0x04,
    0x00,
    0x00,
    0x00,
    0x82,
    0x00,
    0xE0,
    0x00,
    0x74,
    0xC5,
    0xB7,
    0x10,
    0x1A,
    0x82,
    0xE0,
    0x08,
  ];
  const data = new TextEncoder().encode(`vCal-Uid\u0001\u0000\u0000\u0000${uid}\u0000`);
  const bytes = new Uint8Array(16 + 4 + 8 + 8 + 4 + data.length);
  bytes.set(head, 0);
  new DataView(bytes.buffer).setUint32(36, data.length, true);
  bytes.set(data, 40);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/**
 * The Email:MeetingRequest object (MS-ASEMAIL 2.2.2.48) of an invitation or
 * cancellation: EAS dates, the recurrence of a recurring master, the
 * GlobalObjId that MeetingResponse and the calendar item share.
 */
export function easMeetingRequest(fields: MeetingRequestFields): MeetingRequest {
  const date = (compact: string) => new Date(parseCompact(compact) ?? 0);
  const out: MeetingRequest = {
    allDayEvent: fields.allDayEvent,
    startTime: date(fields.startTime),
    dtStamp: date(fields.dtStamp),
    endTime: date(fields.endTime),
    instanceType: fields.instanceType,
    responseRequested: fields.responseRequested,
    sensitivity: fields.sensitivity,
    busyStatus: fields.busyStatus,
    timeZone: fields.timeZone,
    globalObjId: fields.globalObjId,
    disallowNewTimeProposal: fields.disallowNewTimeProposal,
  };
  if (fields.location) {
    out.location = fields.location;
    out.location16 = { displayName: fields.location };
  }
  if (fields.organizer) out.organizer = fields.organizer;
  if (fields.recurrenceId) out.recurrenceId = date(fields.recurrenceId);
  if (fields.reminder !== undefined) out.reminder = fields.reminder;
  if (fields.recurrence) out.recurrences = [fields.recurrence as Recurrence];
  if (fields.method === "REQUEST") out.meetingMessageType = MEETING_MESSAGE_TYPE.InitialRequest;
  return out;
}
