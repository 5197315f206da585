import assert from "node:assert/strict";
import { appointmentFromIcs, icsFromAppointment } from "../../../src/bridge/dav/event_map.ts";
import { decodeTimezoneBlob } from "../../../src/bridge/dav/timezone.ts";
import { parseComponents, prop } from "../../../src/bridge/dav/ical.ts";

const SELF = { selfEmails: ["alice@example.com"], selfEmail: "alice@example.com" };

const MEETING = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//Test//EN",
  "BEGIN:VEVENT",
  "UID:meet-1@example.com",
  "DTSTAMP:20260301T090000Z",
  "DTSTART;TZID=Europe/Berlin:20260318T100000",
  "DTEND;TZID=Europe/Berlin:20260318T113000",
  "SUMMARY:Planning\\, Q2",
  "LOCATION:Room 1",
  "DESCRIPTION:Agenda:\\n1. budget",
  "CLASS:PRIVATE",
  "CATEGORIES:Work,Planning",
  "X-MICROSOFT-CDO-BUSYSTATUS:OOF",
  "X-MICROSOFT-DISALLOW-COUNTER:TRUE",
  "X-MICROSOFT-SKYPETEAMSMEETINGURL:https://teams.example/meet/1",
  "RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=10",
  "EXDATE;TZID=Europe/Berlin:20260325T100000",
  "ORGANIZER;CN=Bob:mailto:bob@example.com",
  "ATTENDEE;CN=Alice;PARTSTAT=TENTATIVE;RSVP=TRUE:mailto:alice@example.com",
  "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:carol@example.com",
  "ATTENDEE;CUTYPE=ROOM:mailto:room@example.com",
  "X-CUSTOM:keep me",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER:-PT15M",
  "END:VALARM",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "UID:meet-1@example.com",
  "RECURRENCE-ID;TZID=Europe/Berlin:20260401T100000",
  "DTSTART;TZID=Europe/Berlin:20260401T140000",
  "DTEND;TZID=Europe/Berlin:20260401T150000",
  "SUMMARY:Planning (moved)",
  "ORGANIZER;CN=Bob:mailto:bob@example.com",
  "ATTENDEE;CN=Alice;PARTSTAT=TENTATIVE;RSVP=TRUE:mailto:alice@example.com",
  "ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:carol@example.com",
  "ATTENDEE;CUTYPE=ROOM:mailto:room@example.com",
  "END:VEVENT",
  "END:VCALENDAR",
  "",
].join("\r\n");

Deno.test("appointmentFromIcs() maps every field of a received recurring meeting", () => {
  const app = appointmentFromIcs(MEETING, SELF);
  const tz = decodeTimezoneBlob(app.timezone!);
  assert.equal(tz.bias, -60);
  assert.deepEqual({ ...app, timezone: undefined, location16: undefined }, {
    timezone: undefined,
    location16: undefined,
    allDayEvent: false,
    startTime: "20260318T090000Z",
    endTime: "20260318T103000Z",
    dtStamp: "20260301T090000Z",
    busyStatus: 3,
    sensitivity: 2,
    organizerEmail: "bob@example.com",
    organizerName: "Bob",
    attendees: [
      { email: "alice@example.com", name: "Alice", attendeeStatus: 2, attendeeType: 1 },
      { email: "carol@example.com", name: "carol@example.com", attendeeStatus: 3, attendeeType: 2 },
      { email: "room@example.com", name: "room@example.com", attendeeStatus: 5, attendeeType: 3 },
    ],
    meetingStatus: 3,
    responseType: 2,
    responseRequested: true,
    disallowNewTimeProposal: true,
    uid: "meet-1@example.com",
    subject: "Planning, Q2",
    location: "Room 1",
    body: { type: 1, estimatedDataSize: 17, truncated: false, data: "Agenda:\n1. budget" },
    reminder: 15,
    categories: ["Work", "Planning"],
    onlineMeetingExternalLink: "https://teams.example/meet/1",
    recurrence: { type: 1, interval: 1, dayOfWeek: 8, occurrences: 10 },
    exceptions: [
      { deleted: true, exceptionStartTime: "20260325T090000Z" },
      {
        exceptionStartTime: "20260401T080000Z",
        startTime: "20260401T120000Z",
        endTime: "20260401T130000Z",
        subject: "Planning (moved)",
        // The override has no CDO status of its own: opaque means busy.
        busyStatus: 2,
      },
    ],
  });
});

Deno.test("appointmentFromIcs() reads all-day events, UTC times and event status", () => {
  const app = appointmentFromIcs(
    "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;VALUE=DATE:20260501\nSUMMARY:Holiday\nTRANSP:TRANSPARENT\nEND:VEVENT\nEND:VCALENDAR\n",
    SELF,
  );
  assert.equal(app.allDayEvent, true);
  assert.equal(app.startTime, "20260501T000000Z");
  assert.equal(app.endTime, "20260502T000000Z");
  assert.equal(app.busyStatus, 0);
  assert.equal(app.meetingStatus, 0);
  assert.equal(decodeTimezoneBlob(app.timezone!).bias, 0);
});

Deno.test("icsFromAppointment() merges a phone change and keeps what EAS cannot express", () => {
  const stored = MEETING.replace("RRULE:FREQ=WEEKLY;BYDAY=WE;COUNT=10", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1,15");
  const before = appointmentFromIcs(stored, SELF);
  assert.equal(before.recurrence, undefined);
  const edited = { ...before, subject: "Planning Q2 (final)", reminder: 30 };
  delete edited.categories;
  const out = icsFromAppointment(edited, stored, { ...SELF, now: Date.UTC(2026, 2, 10) });
  const [cal] = parseComponents(out.ics);
  const master = cal!.components.find((c) => c.name === "VEVENT" && !prop(c, "RECURRENCE-ID"))!;
  assert.equal(prop(master, "RRULE")!.value, "FREQ=MONTHLY;BYMONTHDAY=1,15");
  assert.equal(prop(master, "SUMMARY")!.value, "Planning Q2 (final)");
  assert.equal(prop(master, "X-CUSTOM")!.value, "keep me");
  assert.equal(prop(master, "CATEGORIES"), undefined);
  assert.equal(prop(master, "DTSTART")!.params.TZID![0], "Europe/Berlin");
  assert.equal(prop(master, "DTSTART")!.value, "20260318T100000");
  assert.ok(cal!.components.some((c) => c.name === "VTIMEZONE"), "VTIMEZONE added");
  assert.equal(appointmentFromIcs(out.ics, SELF).reminder, 30);
  assert.equal(out.rescheduled, false);
});

Deno.test("icsFromAppointment() creates a meeting with organizer, attendees, recurrence and exceptions", () => {
  const out = icsFromAppointment(
    {
      timezone: appointmentFromIcs(MEETING, SELF).timezone!,
      startTime: "20260318T090000Z",
      endTime: "20260318T100000Z",
      subject: "New",
      attendees: [{ email: "bob@example.com", name: "Bob", attendeeType: 1 }],
      recurrence: { type: 0, interval: 1, occurrences: 5 },
      exceptions: [{ deleted: true, exceptionStartTime: "20260319T090000Z" }],
      busyStatus: 1,
    },
    undefined,
    { ...SELF, now: Date.UTC(2026, 2, 10) },
  );
  const back = appointmentFromIcs(out.ics, SELF);
  assert.equal(back.organizerEmail, "alice@example.com");
  assert.equal(back.meetingStatus, 1);
  assert.equal(back.responseType, 1);
  assert.deepEqual(back.recurrence, { type: 0, interval: 1, occurrences: 5 });
  assert.deepEqual(back.exceptions, [{ deleted: true, exceptionStartTime: "20260319T090000Z" }]);
  assert.equal(back.busyStatus, 1);
  assert.match(out.ics, /DTSTART;TZID=Europe\/Berlin:20260318T100000/);
  assert.ok(out.uid.endsWith("@pushbridge"));
});
