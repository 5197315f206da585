/**
 * VTODO (RFC 5545 3.6.2) <-> EAS task (MS-ASTASK) and VJOURNAL (3.6.3) <->
 * EAS note (MS-ASNOTE). Writing merges into the stored object like the
 * event mapping: sent fields replace, dropped exported fields are removed,
 * anything else is kept.
 */
import type { BodyPreference } from "../../backend/mail.ts";
import { IMPORTANCE } from "../../eas/model/email.ts";
import { type Note, NOTE_MESSAGE_CLASS } from "../../eas/model/notes.ts";
import type { Task } from "../../eas/model/tasks.ts";
import { bodyOf, textOfBody } from "./_body.ts";
import { categoriesOf, CLASS_TO_SENSITIVITY, type EventParts, eventParts, newUid } from "./event_map.ts";
import {
  type Component,
  escapeText,
  param,
  prop,
  property,
  removeProps,
  serialize,
  setProps,
  setText,
  text,
} from "./ical.ts";
import { formatUtc, parseCompact, parseTimeProperty, timeProperty } from "./ical_time.ts";
import { recurrenceFromRrule, rruleFromRecurrence, sameRecurrence } from "./recurrence.ts";
import { UTC_ZONE, utcToLocal } from "./timezone.ts";

/** PRIORITY (RFC 5545 3.8.1.9) -> Importance: 1-4 high, 5 or none normal, 6-9 low. */
export function importanceOf(priority: string | undefined): number {
  const p = Number(priority ?? 0);
  if (p >= 1 && p <= 4) return IMPORTANCE.High;
  if (p >= 6 && p <= 9) return IMPORTANCE.Low;
  return IMPORTANCE.Normal;
}

/** Importance -> PRIORITY (the values Outlook and Thunderbird write). */
export const IMPORTANCE_TO_PRIORITY: Readonly<Record<number, string>> = { 0: "9", 1: "5", 2: "1" };

/** The EAS task of a calendar object holding a VTODO. */
export function taskFromIcs(ics: string, bodyPreferences: readonly BodyPreference[] = []): Task {
  const parts = eventParts(ics, "VTODO");
  return taskFromParts(parts, bodyPreferences);
}

function taskFromParts(parts: EventParts, prefs: readonly BodyPreference[]): Task {
  const todo = parts.master;
  const task: Task = {
    importance: importanceOf(text(todo, "PRIORITY")),
    sensitivity: CLASS_TO_SENSITIVITY[text(todo, "CLASS")?.toUpperCase() ?? "PUBLIC"] ?? 2,
  };
  const subject = text(todo, "SUMMARY");
  if (subject !== undefined) task.subject = subject;
  const description = text(todo, "DESCRIPTION");
  if (description) task.body = bodyOf(description, prefs);
  const dated = (
    name: string,
    utcField: "utcStartDate" | "utcDueDate",
    localField: "startDate" | "dueDate",
  ) => {
    const p = prop(todo, name);
    if (!p) return;
    const t = parseTimeProperty(p, parts.vtimezones);
    task[utcField] = new Date(t.utcMs);
    // StartDate/DueDate are the local wall-clock time written with a Z (MS-ASTASK 2.2.2.23).
    task[localField] = new Date(t.zone ? utcToLocal(t.zone, t.utcMs) : t.utcMs);
  };
  dated("DTSTART", "utcStartDate", "startDate");
  dated("DUE", "utcDueDate", "dueDate");
  const completed = prop(todo, "COMPLETED");
  task.complete = text(todo, "STATUS")?.toUpperCase() === "COMPLETED" || !!completed;
  if (task.complete && completed) {
    const ms = parseCompact(/Z$/.test(completed.value) ? completed.value : `${completed.value}Z`);
    if (ms !== undefined) task.dateCompleted = new Date(ms);
  }
  const categories = categoriesOf(todo);
  if (categories) task.categories = categories;
  const alarm = todo.components.find((c) => c.name === "VALARM");
  const trigger = alarm ? prop(alarm, "TRIGGER") : undefined;
  if (trigger) {
    let at: number | undefined;
    if (param(trigger, "VALUE") === "DATE-TIME") at = parseCompact(trigger.value);
    else {
      const anchor = param(trigger, "RELATED") === "END"
        ? task.utcDueDate
        : task.utcStartDate ?? task.utcDueDate;
      const m = /^(-)?PT?(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?/.exec(trigger.value);
      if (anchor && m) {
        const minutes = Number(m[2] ?? 0) * 1440 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
        at = anchor.getTime() + (m[1] ? -1 : 1) * minutes * 60_000;
      }
    }
    if (at !== undefined) {
      task.reminderSet = true;
      task.reminderTime = new Date(at);
    }
  } else task.reminderSet = false;
  const rrule = prop(todo, "RRULE");
  const start = task.startDate ?? task.dueDate;
  if (rrule && start) {
    const rec = recurrenceFromRrule(rrule.value, start);
    if (rec) {
      task.recurrence = {
        ...rec,
        start,
        ...(typeof rec.until === "string" ? { until: new Date(parseCompact(rec.until)!) } : {}),
      };
    }
  }
  return task;
}

/** Merges an EAS task into the stored VTODO object (or a new one). */
export function icsFromTask(
  task: Task,
  stored: string | undefined,
  now = Date.now(),
): { ics: string; uid: string } {
  const parts = stored ? eventParts(stored, "VTODO") : newObject("VTODO");
  const exported: Task = stored ? taskFromParts(parts, []) : {};
  const todo = parts.master;
  const touched = (f: keyof Task) => task[f] !== undefined || exported[f] !== undefined;
  if (touched("subject")) setText(todo, "SUMMARY", task.subject);
  const body = textOfBody(task.body) ?? task.body25;
  if (body !== undefined) setText(todo, "DESCRIPTION", body);
  if (task.importance !== undefined && task.importance !== exported.importance) {
    setProps(todo, "PRIORITY", [property("PRIORITY", IMPORTANCE_TO_PRIORITY[task.importance] ?? "5")]);
  }
  const zoneOf = (name: string) => {
    const p = prop(todo, name);
    return p ? parseTimeProperty(p, parts.vtimezones).zone : undefined;
  };
  for (const [name, utcField] of [["DTSTART", "utcStartDate"], ["DUE", "utcDueDate"]] as const) {
    if (!touched(utcField) || task[utcField]?.getTime() === exported[utcField]?.getTime()) continue;
    const v = task[utcField];
    setProps(todo, name, v ? [timeProperty(name, v.getTime(), zoneOf(name) ?? UTC_ZONE)] : []);
  }
  if (task.complete !== undefined && task.complete !== exported.complete) {
    if (task.complete) {
      setProps(todo, "STATUS", [property("STATUS", "COMPLETED")]);
      setProps(todo, "PERCENT-COMPLETE", [property("PERCENT-COMPLETE", "100")]);
      setProps(todo, "COMPLETED", [property("COMPLETED", formatUtc(task.dateCompleted?.getTime() ?? now))]);
    } else {
      setProps(todo, "STATUS", [property("STATUS", "NEEDS-ACTION")]);
      removeProps(todo, "COMPLETED", "PERCENT-COMPLETE");
    }
  }
  if (touched("sensitivity") && task.sensitivity !== exported.sensitivity) {
    const cls = Object.entries(CLASS_TO_SENSITIVITY).find(([, v]) => v === task.sensitivity)?.[0];
    setProps(todo, "CLASS", cls && cls !== "PUBLIC" ? [property("CLASS", cls)] : []);
  }
  if (touched("categories") && JSON.stringify(task.categories) !== JSON.stringify(exported.categories)) {
    setProps(
      todo,
      "CATEGORIES",
      task.categories?.length ? [property("CATEGORIES", task.categories.map(escapeText).join(","))] : [],
    );
  }
  if (
    task.reminderSet !== undefined && (task.reminderSet !== exported.reminderSet ||
      task.reminderTime?.getTime() !== exported.reminderTime?.getTime())
  ) {
    todo.components = todo.components.filter((c) => c.name !== "VALARM");
    if (task.reminderSet && task.reminderTime) {
      todo.components.push({
        name: "VALARM",
        properties: [
          property("ACTION", "DISPLAY"),
          property("DESCRIPTION", "Reminder"),
          property("TRIGGER", formatUtc(task.reminderTime.getTime()), { VALUE: ["DATE-TIME"] }),
        ],
        components: [],
      });
    }
  }
  if (task.recurrence !== undefined) {
    if (!sameRecurrence(task.recurrence, exported.recurrence) || !prop(todo, "RRULE")) {
      setProps(todo, "RRULE", [property("RRULE", rruleFromRecurrence(task.recurrence))]);
    }
  } else if (exported.recurrence !== undefined) removeProps(todo, "RRULE");
  stamp(todo, now);
  return { ics: serialize(parts.calendar), uid: text(todo, "UID")! };
}

/** The EAS note of a calendar object holding a VJOURNAL. */
export function noteFromIcs(ics: string, bodyPreferences: readonly BodyPreference[] = []): Note {
  const { master } = eventParts(ics, "VJOURNAL");
  const note: Note = { messageClass: NOTE_MESSAGE_CLASS };
  note.subject = text(master, "SUMMARY") ?? "";
  note.body = bodyOf(text(master, "DESCRIPTION") ?? "", bodyPreferences);
  const modified = prop(master, "LAST-MODIFIED") ?? prop(master, "DTSTAMP");
  const ms = modified
    ? parseCompact(/Z$/.test(modified.value) ? modified.value : `${modified.value}Z`)
    : undefined;
  if (ms !== undefined) note.lastModifiedDate = new Date(ms);
  const categories = categoriesOf(master);
  if (categories) note.categories = categories;
  return note;
}

/** Merges an EAS note into the stored VJOURNAL object (or a new one). */
export function icsFromNote(
  note: Note,
  stored: string | undefined,
  now = Date.now(),
): { ics: string; uid: string } {
  const parts = stored ? eventParts(stored, "VJOURNAL") : newObject("VJOURNAL");
  const journal = parts.master;
  if (note.subject !== undefined) setText(journal, "SUMMARY", note.subject);
  const body = textOfBody(note.body);
  if (body !== undefined) setText(journal, "DESCRIPTION", body);
  if (note.categories !== undefined) {
    setProps(
      journal,
      "CATEGORIES",
      note.categories.length ? [property("CATEGORIES", note.categories.map(escapeText).join(","))] : [],
    );
  }
  if (!prop(journal, "DTSTART")) journal.properties.push(timeProperty("DTSTART", now, undefined, true));
  stamp(journal, now);
  return { ics: serialize(parts.calendar), uid: text(journal, "UID")! };
}

function stamp(c: Component, now: number): void {
  setProps(c, "DTSTAMP", [property("DTSTAMP", formatUtc(now))]);
  setProps(c, "LAST-MODIFIED", [property("LAST-MODIFIED", formatUtc(now))]);
}

function newObject(name: string): EventParts {
  const master: Component = { name, properties: [property("UID", newUid())], components: [] };
  const calendar: Component = {
    name: "VCALENDAR",
    properties: [property("VERSION", "2.0"), property("PRODID", "-//Pushbridge//EAS bridge//EN")],
    components: [master],
  };
  return { calendar, master, overrides: [], vtimezones: [] };
}
