import assert from "node:assert/strict";
import { recurrenceFromRrule, rruleFromRecurrence } from "../../../src/bridge/dav/recurrence.ts";
import type { Recurrence } from "../../../src/eas/model/calendar.ts";

// Wednesday 2026-03-18 10:00 local.
const START = new Date(Date.UTC(2026, 2, 18, 10));

/** RRULE, its EAS form, and the RRULE written back (undefined: same text). */
const TABLE: [string, Recurrence, string?][] = [
  ["FREQ=DAILY", { type: 0, interval: 1 }],
  ["FREQ=DAILY;INTERVAL=3;COUNT=10", { type: 0, interval: 3, occurrences: 10 }],
  [
    "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
    { type: 1, interval: 1, dayOfWeek: 62 },
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
  ],
  ["FREQ=WEEKLY", { type: 1, interval: 1, dayOfWeek: 8 }, "FREQ=WEEKLY;BYDAY=WE"],
  ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;WKST=MO", { type: 1, interval: 2, dayOfWeek: 34, firstDayOfWeek: 1 }],
  ["FREQ=WEEKLY;BYDAY=TU;UNTIL=20261231T230000Z", {
    type: 1,
    interval: 1,
    dayOfWeek: 4,
    until: "20261231T230000Z",
  }],
  ["FREQ=MONTHLY", { type: 2, interval: 1, dayOfMonth: 18 }, "FREQ=MONTHLY;BYMONTHDAY=18"],
  ["FREQ=MONTHLY;BYMONTHDAY=31", { type: 2, interval: 1, dayOfMonth: 31 }],
  ["FREQ=MONTHLY;BYDAY=3WE", { type: 3, interval: 1, weekOfMonth: 3, dayOfWeek: 8 }],
  ["FREQ=MONTHLY;BYDAY=-1FR", { type: 3, interval: 1, weekOfMonth: 5, dayOfWeek: 32 }],
  [
    "FREQ=MONTHLY;BYDAY=WE;BYSETPOS=3",
    { type: 3, interval: 1, weekOfMonth: 3, dayOfWeek: 8 },
    "FREQ=MONTHLY;BYDAY=3WE",
  ],
  ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", { type: 3, interval: 1, weekOfMonth: 5, dayOfWeek: 62 }],
  ["FREQ=MONTHLY;BYMONTHDAY=-1", { type: 3, interval: 1, weekOfMonth: 5, dayOfWeek: 127 }],
  [
    "FREQ=YEARLY",
    { type: 5, interval: 1, dayOfMonth: 18, monthOfYear: 3 },
    "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=18",
  ],
  ["FREQ=YEARLY;BYMONTH=11;BYDAY=4TH", {
    type: 6,
    interval: 1,
    monthOfYear: 11,
    weekOfMonth: 4,
    dayOfWeek: 16,
  }],
  ["FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29", {
    type: 5,
    interval: 2,
    monthOfYear: 2,
    dayOfMonth: 29,
  }],
];

Deno.test("recurrenceFromRrule() and rruleFromRecurrence() follow the table", () => {
  for (const [rrule, eas, back] of TABLE) {
    assert.deepEqual(recurrenceFromRrule(rrule, START), eas, rrule);
    assert.equal(rruleFromRecurrence(eas), back ?? rrule, rrule);
  }
});

Deno.test("recurrenceFromRrule() refuses rules EAS cannot express", () => {
  for (
    const rrule of [
      "FREQ=HOURLY",
      "FREQ=MONTHLY;BYMONTHDAY=1,15",
      "FREQ=YEARLY;BYWEEKNO=20",
      "FREQ=DAILY;BYHOUR=9,17",
      "FREQ=DAILY;INTERVAL=2;BYDAY=MO",
      "FREQ=MONTHLY;BYDAY=2MO,4MO",
      "FREQ=MONTHLY;BYDAY=-2FR",
    ]
  ) assert.equal(recurrenceFromRrule(rrule, START), undefined, rrule);
});

Deno.test("rruleFromRecurrence() writes a DATE UNTIL for all-day items and rejects unknown types", () => {
  assert.equal(
    rruleFromRecurrence({ type: 0, until: "20260401T000000Z" }, true),
    "FREQ=DAILY;UNTIL=20260401",
  );
  assert.throws(() => rruleFromRecurrence({ type: 4 }), /type '4'/);
  assert.throws(() => rruleFromRecurrence({ type: 3, weekOfMonth: 2 }), /needs DayOfWeek/);
});
