import assert from "node:assert/strict";
import {
  busyPeriodsOfEvents,
  busyPeriodsOfFreeBusy,
  FREE_BUSY,
  mergedFreeBusy,
} from "../../../src/bridge/dav/availability.ts";

const T = (iso: string) => Date.parse(iso);
const DAY = "2026-03-02T"; // a Monday

function calendar(...events: string[]): string {
  return ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...events, "END:VCALENDAR", ""].join(
    "\r\n",
  );
}

function event(lines: string[]): string {
  return ["BEGIN:VEVENT", "UID:u1", "DTSTAMP:20260101T000000Z", ...lines, "END:VEVENT"].join("\r\n");
}

Deno.test("mergedFreeBusy() gives one digit per 30 minutes and the higher digit in a shared slot", () => {
  const start = T(`${DAY}08:00:00Z`);
  const merged = mergedFreeBusy(
    [
      { start: T(`${DAY}08:00:00Z`), end: T(`${DAY}08:30:00Z`), status: FREE_BUSY.OutOfOffice },
      { start: T(`${DAY}08:30:00Z`), end: T(`${DAY}09:30:00Z`), status: FREE_BUSY.Busy },
      { start: T(`${DAY}10:10:00Z`), end: T(`${DAY}10:20:00Z`), status: FREE_BUSY.Tentative },
      { start: T(`${DAY}10:15:00Z`), end: T(`${DAY}10:25:00Z`), status: FREE_BUSY.Busy },
      { start: T(`${DAY}05:00:00Z`), end: T(`${DAY}06:00:00Z`), status: FREE_BUSY.Busy },
    ],
    start,
    T(`${DAY}11:00:00Z`),
  );
  assert.equal(merged, "322020");
});

Deno.test("busyPeriodsOfFreeBusy() reads FBTYPE, periods with an end or a duration, and skips FREE", () => {
  const ics = calendar(
    [
      "BEGIN:VFREEBUSY",
      "DTSTART:20260302T080000Z",
      "DTEND:20260302T120000Z",
      "FREEBUSY:20260302T080000Z/20260302T090000Z,20260302T100000Z/PT30M",
      "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20260302T110000Z/20260302T113000Z",
      "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20260302T113000Z/PT30M",
      "FREEBUSY;FBTYPE=FREE:20260302T090000Z/20260302T100000Z",
      "END:VFREEBUSY",
    ].join("\r\n"),
  );
  const periods = busyPeriodsOfFreeBusy(ics);
  assert.equal(mergedFreeBusy(periods, T(`${DAY}08:00:00Z`), T(`${DAY}12:00:00Z`)), "22002013");
});

Deno.test("busyPeriodsOfEvents() weighs TRANSP, STATUS and the CDO busy status, and skips cancelled events", () => {
  const ics = calendar(
    event(["DTSTART:20260302T080000Z", "DTEND:20260302T090000Z"]),
    event(["DTSTART:20260302T090000Z", "DTEND:20260302T093000Z", "STATUS:TENTATIVE"]).replace("u1", "u2"),
    event(["DTSTART:20260302T093000Z", "DTEND:20260302T100000Z", "TRANSP:TRANSPARENT"]).replace("u1", "u3"),
    event(["DTSTART:20260302T100000Z", "DTEND:20260302T103000Z", "X-MICROSOFT-CDO-BUSYSTATUS:OOF"]).replace(
      "u1",
      "u4",
    ),
    event(["DTSTART:20260302T103000Z", "DTEND:20260302T110000Z", "STATUS:CANCELLED"]).replace("u1", "u5"),
  );
  const start = T(`${DAY}08:00:00Z`);
  const end = T(`${DAY}11:00:00Z`);
  assert.equal(mergedFreeBusy(busyPeriodsOfEvents(ics, start, end), start, end), "221030");
});

Deno.test("busyPeriodsOfEvents() expands a weekly rule in its time zone with EXDATE, COUNT and a moved occurrence", () => {
  const vtimezone = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Berlin",
    "BEGIN:STANDARD",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "END:STANDARD",
    "BEGIN:DAYLIGHT",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "END:DAYLIGHT",
    "END:VTIMEZONE",
  ].join("\r\n");
  // Mondays and Wednesdays 09:00 Berlin from 2 March 2026, six times; 4 March excluded; 9 March moved to 14:00.
  const ics = calendar(
    vtimezone,
    event([
      "DTSTART;TZID=Europe/Berlin:20260302T090000",
      "DTEND;TZID=Europe/Berlin:20260302T100000",
      "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6",
      "EXDATE;TZID=Europe/Berlin:20260304T090000",
    ]),
    event([
      "RECURRENCE-ID;TZID=Europe/Berlin:20260309T090000",
      "DTSTART;TZID=Europe/Berlin:20260309T140000",
      "DTEND;TZID=Europe/Berlin:20260309T150000",
    ]),
  );
  const periods = busyPeriodsOfEvents(ics, T("2026-03-01T00:00:00Z"), T("2026-04-01T00:00:00Z"))
    .map((p) => new Date(p.start).toISOString()).sort();
  assert.deepEqual(periods, [
    "2026-03-02T08:00:00.000Z",
    "2026-03-09T13:00:00.000Z",
    "2026-03-11T08:00:00.000Z",
    "2026-03-16T08:00:00.000Z",
    "2026-03-18T08:00:00.000Z",
    // After the switch to summer time on 29 March 09:00 Berlin is 07:00 UTC; COUNT=6 ends here.
  ]);
  const after = busyPeriodsOfEvents(
    ics.replace("COUNT=6", "COUNT=9"),
    T("2026-03-25T00:00:00Z"),
    T("2026-04-02T00:00:00Z"),
  ).map((p) => new Date(p.start).toISOString());
  assert.deepEqual(after, ["2026-03-25T08:00:00.000Z", "2026-03-30T07:00:00.000Z"]);
});

Deno.test("busyPeriodsOfEvents() follows monthly ordinal weekdays, yearly dates and UNTIL", () => {
  const lastFriday = calendar(event([
    "DTSTART:20260130T150000Z",
    "DURATION:PT1H",
    "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20260424T150000Z",
  ]));
  const starts = busyPeriodsOfEvents(lastFriday, T("2026-01-01T00:00:00Z"), T("2026-12-31T00:00:00Z"))
    .map((p) => new Date(p.start).toISOString().slice(0, 10));
  assert.deepEqual(starts, ["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"]);
  const birthday = calendar(event([
    "DTSTART;VALUE=DATE:20200229",
    "DTEND;VALUE=DATE:20200301",
    "RRULE:FREQ=YEARLY",
  ]));
  const leap = busyPeriodsOfEvents(birthday, T("2021-01-01T00:00:00Z"), T("2029-01-01T00:00:00Z"))
    .map((p) => new Date(p.start).toISOString().slice(0, 10));
  assert.deepEqual(leap, ["2024-02-29", "2028-02-29"]);
});

Deno.test("busyPeriodsOfEvents() reports a rule it does not expand as no data, never as free", () => {
  const ics = calendar(event([
    "DTSTART:20260302T080000Z",
    "DTEND:20260302T090000Z",
    "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
  ]));
  const start = T("2026-03-03T00:00:00Z");
  const end = T("2026-03-03T02:00:00Z");
  assert.equal(mergedFreeBusy(busyPeriodsOfEvents(ics, start, end), start, end), "4444");
});
