import assert from "node:assert/strict";
import {
  icsFromNote,
  icsFromTask,
  importanceOf,
  noteFromIcs,
  taskFromIcs,
} from "../../../src/bridge/dav/todo_map.ts";

const TODO = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\nUID:t1\r\nSUMMARY:File taxes\r\n" +
  "DTSTART;TZID=Europe/Berlin:20260401T090000\r\nDUE;TZID=Europe/Berlin:20260415T170000\r\nPRIORITY:1\r\n" +
  "CATEGORIES:Home\r\nRRULE:FREQ=YEARLY\r\nX-KEEP:yes\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:-PT1H\r\n" +
  "END:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";

Deno.test("importanceOf() maps PRIORITY 1-9 to high, normal and low", () => {
  const table: [string | undefined, number][] = [["1", 2], ["4", 2], ["5", 1], [undefined, 1], ["0", 1], [
    "6",
    0,
  ], ["9", 0]];
  for (const [p, want] of table) assert.equal(importanceOf(p), want, String(p));
});

Deno.test("taskFromIcs() maps dates in local and UTC form, alarm, recurrence and completion", () => {
  const task = taskFromIcs(TODO);
  assert.equal(task.subject, "File taxes");
  assert.equal(task.importance, 2);
  assert.equal(task.utcStartDate?.toISOString(), "2026-04-01T07:00:00.000Z");
  assert.equal(task.startDate?.toISOString(), "2026-04-01T09:00:00.000Z");
  assert.equal(task.utcDueDate?.toISOString(), "2026-04-15T15:00:00.000Z");
  assert.equal(task.reminderSet, true);
  assert.equal(task.reminderTime?.toISOString(), "2026-04-15T14:00:00.000Z");
  assert.equal(task.complete, false);
  assert.deepEqual(task.categories, ["Home"]);
  assert.equal(task.recurrence?.type, 5);
  assert.equal(task.recurrence?.monthOfYear, 4);
});

Deno.test("icsFromTask() completes a task and keeps unknown properties", () => {
  const task = { ...taskFromIcs(TODO), complete: true, dateCompleted: new Date("2026-04-10T10:00:00Z") };
  const out = icsFromTask(task, TODO, Date.UTC(2026, 3, 10));
  assert.match(out.ics, /STATUS:COMPLETED\r\n/);
  assert.match(out.ics, /COMPLETED:20260410T100000Z\r\n/);
  assert.match(out.ics, /X-KEEP:yes\r\n/);
  assert.match(out.ics, /RRULE:FREQ=YEARLY\r\n/);
  assert.match(out.ics, /DUE;TZID=Europe\/Berlin:20260415T170000\r\n/);
  assert.equal(taskFromIcs(out.ics).complete, true);
});

Deno.test("notes round-trip through VJOURNAL", () => {
  const out = icsFromNote(
    { subject: "Idea", body: { type: 1, data: "Line 1\nLine, 2" }, categories: ["X"] },
    undefined,
    Date.UTC(2026, 0, 2),
  );
  const note = noteFromIcs(out.ics);
  assert.equal(note.subject, "Idea");
  assert.equal(note.body?.data, "Line 1\nLine, 2");
  assert.deepEqual(note.categories, ["X"]);
  assert.equal(note.messageClass, "IPM.StickyNote");
  assert.equal(note.lastModifiedDate?.toISOString(), "2026-01-02T00:00:00.000Z");
});
