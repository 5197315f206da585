import { type Body, BODY_SCHEMA } from "./airsyncbase.ts";
import type { FieldSpec, ObjectSchema } from "./schema.ts";

const C = "Calendar";
const ASB = "AirSyncBase";

/** BusyStatus (MS-ASCAL 2.2.2.8). */
export const BUSY_STATUS = { Free: 0, Tentative: 1, Busy: 2, OutOfOffice: 3, WorkingElsewhere: 4 } as const;

/** Sensitivity (MS-ASCAL 2.2.2.41). */
export const SENSITIVITY = { Normal: 0, Personal: 1, Private: 2, Confidential: 3 } as const;

/** MeetingStatus (MS-ASCAL 2.2.2.29): bit 0 is a meeting, bit 1 received, bit 2 canceled. */
export const MEETING_STATUS = {
  Appointment: 0,
  Meeting: 1,
  MeetingReceived: 3,
  MeetingCanceled: 5,
  MeetingReceivedCanceled: 7,
} as const;

/** AttendeeStatus and ResponseType (MS-ASCAL 2.2.2.4, 2.2.2.38). */
export const RESPONSE_TYPE = {
  None: 0,
  Organizer: 1,
  Tentative: 2,
  Accepted: 3,
  Declined: 4,
  NotResponded: 5,
} as const;

/** AttendeeType (MS-ASCAL 2.2.2.5). */
export const ATTENDEE_TYPE = { Required: 1, Optional: 2, Resource: 3 } as const;

/** Recurrence Type (MS-ASCAL 2.2.2.39.1); 4 is not used. */
export const RECURRENCE_TYPE = {
  Daily: 0,
  Weekly: 1,
  Monthly: 2,
  MonthlyNth: 3,
  Yearly: 5,
  YearlyNth: 6,
} as const;

/** DayOfWeek bits (MS-ASCAL 2.2.2.16); 127 with WeekOfMonth 5 is "last day of the month". */
export const DAY_OF_WEEK = {
  Sunday: 1,
  Monday: 2,
  Tuesday: 4,
  Wednesday: 8,
  Thursday: 16,
  Friday: 32,
  Saturday: 64,
} as const;

/** Calendar:Attendee (MS-ASCAL 2.2.2.3). */
export interface Attendee {
  email: string;
  name: string;
  attendeeStatus?: number;
  attendeeType?: number;
}

/** Calendar:Recurrence and Tasks:Recurrence share these fields (MS-ASCAL 2.2.2.39, MS-ASTASK 2.2.2.18). */
export interface Recurrence {
  type: number;
  /** Tasks only: the recurrence's start (MS-ASTASK 2.2.2.27), extended date form. */
  start?: Date;
  occurrences?: number;
  interval?: number;
  weekOfMonth?: number;
  dayOfWeek?: number;
  monthOfYear?: number;
  /** Calendar: compact form "20261121T100000Z"; Tasks: a Date. */
  until?: string | Date;
  dayOfMonth?: number;
  calendarType?: number;
  isLeapMonth?: boolean;
  /** 0 Sunday .. 6 Saturday (14.1). */
  firstDayOfWeek?: number;
  /** Tasks only (MS-ASTASK 2.2.2.19 Regenerate, 2.2.2.10 DeadOccur). */
  regenerate?: boolean;
  deadOccur?: boolean;
}

/** AirSyncBase:Location (MS-ASAIRS 2.2.2.27), 16.0 and later; only the display name is used. */
export interface Location16 {
  displayName?: string;
}

/** Calendar:Exception (MS-ASCAL 2.2.2.19): a deleted or modified occurrence. */
export interface AppointmentException {
  deleted?: boolean;
  /** Compact date of the original occurrence start (MS-ASCAL 2.2.2.20). */
  exceptionStartTime?: string;
  subject?: string;
  startTime?: string;
  endTime?: string;
  body?: Body;
  location?: string;
  location16?: Location16;
  categories?: string[];
  sensitivity?: number;
  busyStatus?: number;
  allDayEvent?: boolean;
  reminder?: number;
  dtStamp?: string;
  meetingStatus?: number;
  attendees?: Attendee[];
  appointmentReplyTime?: string;
  responseType?: number;
}

/**
 * A calendar item (MS-ASCAL 2.2.2). Dates are strings in the compact form
 * "20261121T100000Z" that MS-ASCAL uses for StartTime, EndTime, DtStamp,
 * ExceptionStartTime and Until (MS-ASDTYPE 2.3, compact date-time).
 */
export interface Appointment {
  /** Base64 TIMEZONE_INFORMATION (MS-ASDTYPE 2.7). */
  timezone?: string;
  allDayEvent?: boolean;
  body?: Body;
  body25?: string;
  busyStatus?: number;
  organizerName?: string;
  organizerEmail?: string;
  dtStamp?: string;
  endTime?: string;
  location?: string;
  location16?: Location16;
  /** Minutes before the start. */
  reminder?: number;
  sensitivity?: number;
  subject?: string;
  startTime?: string;
  uid?: string;
  meetingStatus?: number;
  attendees?: Attendee[];
  categories?: string[];
  recurrence?: Recurrence;
  exceptions?: AppointmentException[];
  responseRequested?: boolean;
  appointmentReplyTime?: string;
  responseType?: number;
  disallowNewTimeProposal?: boolean;
  onlineMeetingConfLink?: string;
  onlineMeetingExternalLink?: string;
  clientUid?: string;
}

/** Tag table of Calendar:Attendee. */
export const ATTENDEE_SCHEMA: ObjectSchema = {
  name: "Attendee",
  fields: [
    { field: "email", ns: C, tag: "Email", type: "string" },
    { field: "name", ns: C, tag: "Name", type: "string" },
    { field: "attendeeStatus", ns: C, tag: "AttendeeStatus", type: "int", minVersion: "12.0" },
    { field: "attendeeType", ns: C, tag: "AttendeeType", type: "int", minVersion: "12.0" },
  ],
};

/** Tag table of Calendar:Recurrence. */
export const CALENDAR_RECURRENCE_SCHEMA: ObjectSchema = {
  name: "Recurrence",
  fields: [
    { field: "type", ns: C, tag: "Type", type: "int" },
    { field: "occurrences", ns: C, tag: "Occurrences", type: "int" },
    { field: "interval", ns: C, tag: "Interval", type: "int" },
    { field: "weekOfMonth", ns: C, tag: "WeekOfMonth", type: "int" },
    { field: "dayOfWeek", ns: C, tag: "DayOfWeek", type: "int" },
    { field: "monthOfYear", ns: C, tag: "MonthOfYear", type: "int" },
    { field: "until", ns: C, tag: "Until", type: "string" },
    { field: "dayOfMonth", ns: C, tag: "DayOfMonth", type: "int" },
    { field: "calendarType", ns: C, tag: "CalendarType", type: "int", minVersion: "14.0" },
    { field: "isLeapMonth", ns: C, tag: "IsLeapMonth", type: "bool", minVersion: "14.0" },
    { field: "firstDayOfWeek", ns: C, tag: "FirstDayOfWeek", type: "int", minVersion: "14.1" },
  ],
};

/** Tag table of AirSyncBase:Location (only DisplayName is mapped). */
export const LOCATION16_SCHEMA: ObjectSchema = {
  name: "Location",
  fields: [{ field: "displayName", ns: ASB, tag: "DisplayName", type: "string" }],
};

const categories: FieldSpec = {
  field: "categories",
  ns: C,
  tag: "Category",
  type: "string",
  repeated: true,
  container: { ns: C, tag: "Categories" },
};
const attendees: FieldSpec = {
  field: "attendees",
  ns: C,
  tag: "Attendee",
  type: "nested",
  schema: ATTENDEE_SCHEMA,
  repeated: true,
  container: { ns: C, tag: "Attendees" },
};
const body: FieldSpec = {
  field: "body",
  ns: ASB,
  tag: "Body",
  type: "nested",
  schema: BODY_SCHEMA,
  minVersion: "12.0",
};
const location: FieldSpec = { field: "location", ns: C, tag: "Location", type: "string", maxVersion: "14.1" };
const location16: FieldSpec = {
  field: "location16",
  ns: ASB,
  tag: "Location",
  type: "nested",
  schema: LOCATION16_SCHEMA,
  minVersion: "16.0",
};

/** Tag table of Calendar:Exception. */
export const EXCEPTION_SCHEMA: ObjectSchema = {
  name: "Exception",
  fields: [
    { field: "deleted", ns: C, tag: "Deleted", type: "bool" },
    { field: "exceptionStartTime", ns: C, tag: "ExceptionStartTime", type: "string" },
    { field: "subject", ns: C, tag: "Subject", type: "string" },
    { field: "startTime", ns: C, tag: "StartTime", type: "string" },
    { field: "endTime", ns: C, tag: "EndTime", type: "string" },
    body,
    location,
    location16,
    categories,
    { field: "sensitivity", ns: C, tag: "Sensitivity", type: "int" },
    { field: "busyStatus", ns: C, tag: "BusyStatus", type: "int" },
    { field: "allDayEvent", ns: C, tag: "AllDayEvent", type: "bool" },
    { field: "reminder", ns: C, tag: "Reminder", type: "int" },
    { field: "dtStamp", ns: C, tag: "DtStamp", type: "string" },
    { field: "meetingStatus", ns: C, tag: "MeetingStatus", type: "int" },
    { ...attendees, minVersion: "14.0" },
    { field: "appointmentReplyTime", ns: C, tag: "AppointmentReplyTime", type: "string", minVersion: "14.0" },
    { field: "responseType", ns: C, tag: "ResponseType", type: "int", minVersion: "14.0" },
  ],
};

/** Tag table of a calendar item, in the order of MS-ASCAL 2.2.2 and Calendar.xsd. */
export const APPOINTMENT_SCHEMA: ObjectSchema = {
  name: "Appointment",
  fields: [
    { field: "timezone", ns: C, tag: "Timezone", type: "string" },
    { field: "allDayEvent", ns: C, tag: "AllDayEvent", type: "bool" },
    body,
    { field: "body25", ns: C, tag: "Body", type: "string", maxVersion: "2.5" },
    { field: "busyStatus", ns: C, tag: "BusyStatus", type: "int" },
    { field: "organizerName", ns: C, tag: "OrganizerName", type: "string" },
    { field: "organizerEmail", ns: C, tag: "OrganizerEmail", type: "string" },
    { field: "dtStamp", ns: C, tag: "DtStamp", type: "string" },
    { field: "endTime", ns: C, tag: "EndTime", type: "string" },
    location,
    location16,
    { field: "reminder", ns: C, tag: "Reminder", type: "int" },
    { field: "sensitivity", ns: C, tag: "Sensitivity", type: "int" },
    { field: "subject", ns: C, tag: "Subject", type: "string" },
    { field: "startTime", ns: C, tag: "StartTime", type: "string" },
    { field: "uid", ns: C, tag: "UID", type: "string" },
    { field: "meetingStatus", ns: C, tag: "MeetingStatus", type: "int" },
    attendees,
    categories,
    { field: "recurrence", ns: C, tag: "Recurrence", type: "nested", schema: CALENDAR_RECURRENCE_SCHEMA },
    {
      field: "exceptions",
      ns: C,
      tag: "Exception",
      type: "nested",
      schema: EXCEPTION_SCHEMA,
      repeated: true,
      container: { ns: C, tag: "Exceptions" },
    },
    { field: "responseRequested", ns: C, tag: "ResponseRequested", type: "bool", minVersion: "14.0" },
    { field: "appointmentReplyTime", ns: C, tag: "AppointmentReplyTime", type: "string", minVersion: "14.0" },
    { field: "responseType", ns: C, tag: "ResponseType", type: "int", minVersion: "14.0" },
    {
      field: "disallowNewTimeProposal",
      ns: C,
      tag: "DisallowNewTimeProposal",
      type: "bool",
      minVersion: "14.0",
    },
    {
      field: "onlineMeetingConfLink",
      ns: C,
      tag: "OnlineMeetingConfLink",
      type: "string",
      minVersion: "14.1",
    },
    {
      field: "onlineMeetingExternalLink",
      ns: C,
      tag: "OnlineMeetingExternalLink",
      type: "string",
      minVersion: "14.1",
    },
    { field: "clientUid", ns: C, tag: "ClientUid", type: "string", minVersion: "16.1" },
  ],
};
