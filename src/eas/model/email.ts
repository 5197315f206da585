import {
  type Attachment,
  ATTACHMENT_SCHEMA,
  type Body,
  BODY_PART_SCHEMA,
  BODY_SCHEMA,
  type BodyPart,
} from "./airsyncbase.ts";
import { type Location16, LOCATION16_SCHEMA, type Recurrence } from "./calendar.ts";
import type { ObjectSchema } from "./schema.ts";

const E = "Email";
const E2 = "Email2";
const ASB = "AirSyncBase";
const T = "Tasks";

/** Message classes we set (MS-ASEMAIL 2.2.2.52 MessageClass). */
export const MESSAGE_CLASS = {
  Note: "IPM.Note",
  MeetingRequest: "IPM.Schedule.Meeting.Request",
  MeetingCanceled: "IPM.Schedule.Meeting.Canceled",
  MeetingResponsePositive: "IPM.Schedule.Meeting.Resp.Pos",
  MeetingResponseTentative: "IPM.Schedule.Meeting.Resp.Tent",
  MeetingResponseNegative: "IPM.Schedule.Meeting.Resp.Neg",
  Signed: "IPM.Note.SMIME.MultipartSigned",
  Encrypted: "IPM.Note.SMIME",
} as const;

/** Flag Status values (MS-ASEMAIL 2.2.2.70): cleared, complete, active. */
export const FLAG_STATUS = { Cleared: 0, Complete: 1, Active: 2 } as const;

/** LastVerbExecuted values (MS-ASEMAIL 2.2.2.46). */
export const LAST_VERB = { Unknown: 0, ReplyToSender: 1, ReplyToAll: 2, Forward: 3 } as const;

/** Importance (MS-ASEMAIL 2.2.2.40): low, normal, high. */
export const IMPORTANCE = { Low: 0, Normal: 1, High: 2 } as const;

/** Email:Flag (MS-ASEMAIL 2.2.2.34); an empty object means "no flag" (an empty `<Flag/>` clears it). */
export interface Flag {
  status?: number;
  flagType?: string;
  completeTime?: Date;
  startDate?: Date;
  utcStartDate?: Date;
  dueDate?: Date;
  utcDueDate?: Date;
  dateCompleted?: Date;
  reminderSet?: boolean;
}

/** MeetingMessageType (MS-ASEMAIL 2.2.2.49). */
export const MEETING_MESSAGE_TYPE = {
  Silent: 0,
  InitialRequest: 1,
  FullUpdate: 2,
  InformationalUpdate: 3,
} as const;

/** Email:MeetingRequest (MS-ASEMAIL 2.2.2.48): the invitation carried by a meeting mail. */
export interface MeetingRequest {
  allDayEvent?: boolean;
  startTime?: Date;
  dtStamp: Date;
  endTime?: Date;
  /** 0 single, 1 recurring master, 2 single instance, 3 exception (MS-ASEMAIL 2.2.2.41). */
  instanceType?: number;
  location?: string;
  location16?: Location16;
  organizer?: string;
  recurrenceId?: Date;
  reminder?: number;
  responseRequested?: boolean;
  recurrences?: Recurrence[];
  sensitivity?: number;
  busyStatus?: number;
  /** Base64 TIMEZONE_INFORMATION (MS-ASDTYPE 2.7). */
  timeZone: string;
  /** Base64 GlobalObjId (MS-ASEMAIL 2.2.2.38). */
  globalObjId: string;
  disallowNewTimeProposal?: boolean;
  meetingMessageType?: number;
}

/** Tag table of Email:Recurrence inside MeetingRequest (MS-ASEMAIL 2.2.2.63). */
export const MEETING_RECURRENCE_SCHEMA: ObjectSchema = {
  name: "Recurrence",
  fields: [
    { field: "type", ns: E, tag: "Type", type: "int" },
    { field: "interval", ns: E, tag: "Interval", type: "int" },
    { field: "until", ns: E, tag: "Until", type: "string" },
    { field: "occurrences", ns: E, tag: "Occurrences", type: "int" },
    { field: "weekOfMonth", ns: E, tag: "WeekOfMonth", type: "int" },
    { field: "dayOfMonth", ns: E, tag: "DayOfMonth", type: "int" },
    { field: "dayOfWeek", ns: E, tag: "DayOfWeek", type: "int" },
    { field: "monthOfYear", ns: E, tag: "MonthOfYear", type: "int" },
    { field: "calendarType", ns: E2, tag: "CalendarType", type: "int", minVersion: "14.0" },
    { field: "isLeapMonth", ns: E2, tag: "IsLeapMonth", type: "bool", minVersion: "14.0" },
    { field: "firstDayOfWeek", ns: E2, tag: "FirstDayOfWeek", type: "int", minVersion: "14.1" },
  ],
};

/** Tag table of Email:MeetingRequest, in the order of Email.xsd. */
export const MEETING_REQUEST_SCHEMA: ObjectSchema = {
  name: "MeetingRequest",
  fields: [
    { field: "allDayEvent", ns: E, tag: "AllDayEvent", type: "bool" },
    { field: "startTime", ns: E, tag: "StartTime", type: "date" },
    { field: "dtStamp", ns: E, tag: "DtStamp", type: "date" },
    { field: "endTime", ns: E, tag: "EndTime", type: "date" },
    { field: "instanceType", ns: E, tag: "InstanceType", type: "int" },
    { field: "location", ns: E, tag: "Location", type: "string", maxVersion: "14.1" },
    {
      field: "location16",
      ns: ASB,
      tag: "Location",
      type: "nested",
      schema: LOCATION16_SCHEMA,
      minVersion: "16.0",
    },
    { field: "organizer", ns: E, tag: "Organizer", type: "string" },
    { field: "recurrenceId", ns: E, tag: "RecurrenceId", type: "date" },
    { field: "reminder", ns: E, tag: "Reminder", type: "int" },
    { field: "responseRequested", ns: E, tag: "ResponseRequested", type: "bool" },
    {
      field: "recurrences",
      ns: E,
      tag: "Recurrence",
      type: "nested",
      schema: MEETING_RECURRENCE_SCHEMA,
      repeated: true,
      container: { ns: E, tag: "Recurrences" },
    },
    { field: "sensitivity", ns: E, tag: "Sensitivity", type: "int" },
    { field: "busyStatus", ns: E, tag: "BusyStatus", type: "int" },
    { field: "timeZone", ns: E, tag: "TimeZone", type: "string" },
    { field: "globalObjId", ns: E, tag: "GlobalObjId", type: "string" },
    {
      field: "disallowNewTimeProposal",
      ns: E,
      tag: "DisallowNewTimeProposal",
      type: "bool",
      minVersion: "14.0",
    },
    { field: "meetingMessageType", ns: E2, tag: "MeetingMessageType", type: "int", minVersion: "14.1" },
  ],
};

/** Email (MS-ASEMAIL 2.2.2) as sent in Sync and fetched by ItemOperations. */
export interface Email {
  to?: string;
  cc?: string;
  from?: string;
  subject?: string;
  replyTo?: string;
  dateReceived?: Date;
  displayTo?: string;
  threadTopic?: string;
  importance?: number;
  read?: boolean;
  attachments?: Attachment[];
  body?: Body;
  bodyPart?: BodyPart;
  messageClass?: string;
  meetingRequest?: MeetingRequest;
  /** The iMIP text/calendar of an invitation, cancellation or reply: not sent (no tag), it feeds the calendar. */
  meetingIcs?: string;
  internetCpid?: string;
  flag?: Flag;
  contentClass?: string;
  nativeBodyType?: number;
  conversationId?: Uint8Array;
  conversationIndex?: Uint8Array;
  lastVerbExecuted?: number;
  lastVerbExecutionTime?: Date;
  receivedAsBcc?: boolean;
  sender?: string;
  categories?: string[];
  /** 16.0 drafts (MS-ASEMAIL 2.2.2.7 Bcc, 2.2.2.42 IsDraft). */
  bcc?: string;
  isDraft?: boolean;
  /** 2.5 bodies (MS-ASEMAIL 2.2.2.9..12), replaced by AirSyncBase:Body in 12.0. */
  body25?: string;
  bodySize25?: number;
  bodyTruncated25?: boolean;
  /** MIME forms of 2.5 (MS-ASEMAIL 2.2.2.49..51). */
  mimeData25?: string | Uint8Array;
  mimeSize25?: number;
  mimeTruncated25?: boolean;
}

/** Tag table of Email:Flag; the date fields live in the Tasks code page. */
export const FLAG_SCHEMA: ObjectSchema = {
  name: "Flag",
  fields: [
    { field: "status", ns: E, tag: "Status", type: "int" },
    { field: "flagType", ns: E, tag: "FlagType", type: "string" },
    { field: "completeTime", ns: E, tag: "CompleteTime", type: "date" },
    { field: "startDate", ns: T, tag: "StartDate", type: "date" },
    { field: "utcStartDate", ns: T, tag: "UtcStartDate", type: "date" },
    { field: "dueDate", ns: T, tag: "DueDate", type: "date" },
    { field: "utcDueDate", ns: T, tag: "UtcDueDate", type: "date" },
    { field: "dateCompleted", ns: T, tag: "DateCompleted", type: "date" },
    { field: "reminderSet", ns: T, tag: "ReminderSet", type: "bool" },
  ],
};

/**
 * Tag table of Email, in the order Exchange writes it. Version ranges follow
 * MS-ASEMAIL 2.2.2: AirSyncBase bodies from 12.0, Email2 from 14.0, drafts
 * fields from 16.0; the 2.5 body fields only for 2.5.
 */
export const EMAIL_SCHEMA: ObjectSchema = {
  name: "Email",
  fields: [
    { field: "to", ns: E, tag: "To", type: "string" },
    { field: "cc", ns: E, tag: "Cc", type: "string" },
    { field: "from", ns: E, tag: "From", type: "string" },
    { field: "subject", ns: E, tag: "Subject", type: "string" },
    { field: "replyTo", ns: E, tag: "ReplyTo", type: "string" },
    { field: "dateReceived", ns: E, tag: "DateReceived", type: "date" },
    { field: "displayTo", ns: E, tag: "DisplayTo", type: "string" },
    { field: "threadTopic", ns: E, tag: "ThreadTopic", type: "string" },
    { field: "importance", ns: E, tag: "Importance", type: "int" },
    { field: "read", ns: E, tag: "Read", type: "bool" },
    {
      field: "attachments",
      ns: ASB,
      tag: "Attachment",
      type: "nested",
      schema: ATTACHMENT_SCHEMA,
      repeated: true,
      container: { ns: ASB, tag: "Attachments" },
      minVersion: "12.0",
    },
    { field: "body", ns: ASB, tag: "Body", type: "nested", schema: BODY_SCHEMA, minVersion: "12.0" },
    {
      field: "bodyPart",
      ns: ASB,
      tag: "BodyPart",
      type: "nested",
      schema: BODY_PART_SCHEMA,
      minVersion: "14.1",
    },
    { field: "body25", ns: E, tag: "Body", type: "string", maxVersion: "2.5" },
    { field: "bodySize25", ns: E, tag: "BodySize", type: "int", maxVersion: "2.5" },
    { field: "bodyTruncated25", ns: E, tag: "BodyTruncated", type: "bool", maxVersion: "2.5" },
    { field: "mimeData25", ns: E, tag: "MIMEData", type: "string", maxVersion: "2.5" },
    { field: "mimeSize25", ns: E, tag: "MIMESize", type: "int", maxVersion: "2.5" },
    { field: "mimeTruncated25", ns: E, tag: "MIMETruncated", type: "bool", maxVersion: "2.5" },
    { field: "messageClass", ns: E, tag: "MessageClass", type: "string" },
    { field: "meetingRequest", ns: E, tag: "MeetingRequest", type: "nested", schema: MEETING_REQUEST_SCHEMA },
    { field: "internetCpid", ns: E, tag: "InternetCPID", type: "string" },
    { field: "flag", ns: E, tag: "Flag", type: "nested", schema: FLAG_SCHEMA, minVersion: "12.0" },
    { field: "contentClass", ns: E, tag: "ContentClass", type: "string", minVersion: "12.0" },
    { field: "nativeBodyType", ns: ASB, tag: "NativeBodyType", type: "int", minVersion: "12.0" },
    { field: "conversationId", ns: E2, tag: "ConversationId", type: "opaque", minVersion: "14.0" },
    { field: "conversationIndex", ns: E2, tag: "ConversationIndex", type: "opaque", minVersion: "14.0" },
    { field: "lastVerbExecuted", ns: E2, tag: "LastVerbExecuted", type: "int", minVersion: "14.0" },
    {
      field: "lastVerbExecutionTime",
      ns: E2,
      tag: "LastVerbExecutionTime",
      type: "date",
      minVersion: "14.0",
    },
    { field: "receivedAsBcc", ns: E2, tag: "ReceivedAsBcc", type: "bool", minVersion: "14.0" },
    { field: "sender", ns: E2, tag: "Sender", type: "string", minVersion: "14.0" },
    {
      field: "categories",
      ns: E,
      tag: "Category",
      type: "string",
      repeated: true,
      container: { ns: E, tag: "Categories" },
      minVersion: "14.0",
    },
    { field: "bcc", ns: E2, tag: "Bcc", type: "string", minVersion: "16.0" },
    { field: "isDraft", ns: E2, tag: "IsDraft", type: "bool", minVersion: "16.0" },
  ],
};
