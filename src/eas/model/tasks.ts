import { type Body, BODY_SCHEMA } from "./airsyncbase.ts";
import type { Recurrence } from "./calendar.ts";
import type { ObjectSchema } from "./schema.ts";

const T = "Tasks";
const ASB = "AirSyncBase";

/** A task (MS-ASTASK 2.2.2); dates in the extended form "2026-11-21T10:00:00.000Z". */
export interface Task {
  subject?: string;
  body?: Body;
  body25?: string;
  /** 0 low, 1 normal, 2 high (MS-ASTASK 2.2.2.13). */
  importance?: number;
  utcStartDate?: Date;
  startDate?: Date;
  utcDueDate?: Date;
  dueDate?: Date;
  categories?: string[];
  recurrence?: Recurrence;
  complete?: boolean;
  dateCompleted?: Date;
  sensitivity?: number;
  reminderTime?: Date;
  reminderSet?: boolean;
}

/** Tag table of Tasks:Recurrence (MS-ASTASK 2.2.2.18). */
export const TASK_RECURRENCE_SCHEMA: ObjectSchema = {
  name: "Recurrence",
  fields: [
    { field: "type", ns: T, tag: "Type", type: "int" },
    { field: "start", ns: T, tag: "Start", type: "date" },
    { field: "until", ns: T, tag: "Until", type: "date" },
    { field: "occurrences", ns: T, tag: "Occurrences", type: "int" },
    { field: "interval", ns: T, tag: "Interval", type: "int" },
    { field: "dayOfMonth", ns: T, tag: "DayOfMonth", type: "int" },
    { field: "dayOfWeek", ns: T, tag: "DayOfWeek", type: "int" },
    { field: "weekOfMonth", ns: T, tag: "WeekOfMonth", type: "int" },
    { field: "monthOfYear", ns: T, tag: "MonthOfYear", type: "int" },
    { field: "regenerate", ns: T, tag: "Regenerate", type: "bool" },
    { field: "deadOccur", ns: T, tag: "DeadOccur", type: "bool" },
    { field: "calendarType", ns: T, tag: "CalendarType", type: "int", minVersion: "14.0" },
    { field: "isLeapMonth", ns: T, tag: "IsLeapMonth", type: "bool", minVersion: "14.0" },
    { field: "firstDayOfWeek", ns: T, tag: "FirstDayOfWeek", type: "int", minVersion: "14.1" },
  ],
};

/** Tag table of a task (MS-ASTASK 2.2.2). */
export const TASK_SCHEMA: ObjectSchema = {
  name: "Task",
  fields: [
    { field: "subject", ns: T, tag: "Subject", type: "string" },
    { field: "body", ns: ASB, tag: "Body", type: "nested", schema: BODY_SCHEMA, minVersion: "12.0" },
    { field: "body25", ns: T, tag: "Body", type: "string", maxVersion: "2.5" },
    { field: "importance", ns: T, tag: "Importance", type: "int" },
    { field: "utcStartDate", ns: T, tag: "UtcStartDate", type: "date" },
    { field: "startDate", ns: T, tag: "StartDate", type: "date" },
    { field: "utcDueDate", ns: T, tag: "UtcDueDate", type: "date" },
    { field: "dueDate", ns: T, tag: "DueDate", type: "date" },
    {
      field: "categories",
      ns: T,
      tag: "Category",
      type: "string",
      repeated: true,
      container: { ns: T, tag: "Categories" },
    },
    { field: "recurrence", ns: T, tag: "Recurrence", type: "nested", schema: TASK_RECURRENCE_SCHEMA },
    { field: "complete", ns: T, tag: "Complete", type: "bool" },
    { field: "dateCompleted", ns: T, tag: "DateCompleted", type: "date" },
    { field: "sensitivity", ns: T, tag: "Sensitivity", type: "int" },
    { field: "reminderTime", ns: T, tag: "ReminderTime", type: "date" },
    { field: "reminderSet", ns: T, tag: "ReminderSet", type: "bool" },
  ],
};
