import assert from "node:assert/strict";
import fc from "fast-check";
import { appointmentFromIcs, EventMappingError } from "../../src/bridge/dav/event_map.ts";
import { CalendarSyntaxError, parseComponents, serialize } from "../../src/bridge/dav/ical.ts";
import { RecurrenceError } from "../../src/bridge/dav/recurrence.ts";
import { TimeZoneBlobError } from "../../src/bridge/dav/timezone.ts";
import { noteFromIcs, taskFromIcs } from "../../src/bridge/dav/todo_map.ts";
import { contactFromVcard, ContactMappingError } from "../../src/bridge/dav/vcard_map.ts";
import { galEntryOfVcard } from "../../src/bridge/gal/vcard.ts";
import { mutateText, textEdits } from "./_mutate.ts";
import { fuzzParams, timed } from "./_runs.ts";

const crlf = (lines: string[]) => lines.join("\r\n") + "\r\n";

const EVENT = crlf([
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//fuzz//EN",
  "BEGIN:VTIMEZONE",
  "TZID:Europe/Berlin",
  "BEGIN:DAYLIGHT",
  "TZOFFSETFROM:+0100",
  "TZOFFSETTO:+0200",
  "DTSTART:19700329T020000",
  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
  "END:DAYLIGHT",
  "BEGIN:STANDARD",
  "TZOFFSETFROM:+0200",
  "TZOFFSETTO:+0100",
  "DTSTART:19701025T030000",
  "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
  "END:STANDARD",
  "END:VTIMEZONE",
  "BEGIN:VEVENT",
  "UID:ev1@example.test",
  "DTSTAMP:20261101T090000Z",
  "DTSTART;TZID=Europe/Berlin:20261102T100000",
  "DTEND;TZID=Europe/Berlin:20261102T110000",
  "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z",
  "EXDATE;TZID=Europe/Berlin:20261104T100000",
  "SUMMARY:Planning\\, weekly",
  "LOCATION:Room 1",
  "DESCRIPTION:Line one\\nLine two",
  "ORGANIZER;CN=Bob:mailto:bob@example.test",
  'ATTENDEE;CN="Alice, A.";PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test',
  "CATEGORIES:Work,Team",
  "CLASS:PRIVATE",
  "TRANSP:OPAQUE",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER:-PT15M",
  "END:VALARM",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "UID:ev1@example.test",
  "RECURRENCE-ID;TZID=Europe/Berlin:20261109T100000",
  "DTSTART;TZID=Europe/Berlin:20261109T120000",
  "DTEND;TZID=Europe/Berlin:20261109T130000",
  "SUMMARY:Moved",
  "END:VEVENT",
  "END:VCALENDAR",
]);

const ALL_DAY = crlf([
  "BEGIN:VCALENDAR",
  "BEGIN:VEVENT",
  "UID:ad",
  "DTSTART;VALUE=DATE:20261224",
  "DTEND;VALUE=DATE:20261227",
  "RRULE:FREQ=YEARLY;COUNT=3",
  "SUMMARY:Holidays",
  "END:VEVENT",
  "END:VCALENDAR",
]);

const TODO = crlf([
  "BEGIN:VCALENDAR",
  "BEGIN:VTODO",
  "UID:t1",
  "SUMMARY:Do it",
  "DUE;VALUE=DATE:20261201",
  "PRIORITY:1",
  "STATUS:NEEDS-ACTION",
  "RRULE:FREQ=MONTHLY;BYMONTHDAY=1",
  "END:VTODO",
  "END:VCALENDAR",
]);

const NOTE = crlf([
  "BEGIN:VCALENDAR",
  "BEGIN:VJOURNAL",
  "UID:n1",
  "SUMMARY:Note",
  "DESCRIPTION:Text",
  "END:VJOURNAL",
  "END:VCALENDAR",
]);

const CARDS = [
  crlf([
    "BEGIN:VCARD",
    "VERSION:3.0",
    "UID:c1",
    "FN:Jane Doe",
    "N:Doe;Jane;;;",
    "ORG:Example;R&D",
    "EMAIL;TYPE=INTERNET,WORK:jane@work.example",
    "TEL;TYPE=CELL:+1 555 0100",
    "ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA",
    "BDAY:1980-04-05",
    "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ==",
    "item1.X-ABLABEL:custom",
    "NOTE:Met at conf\\nsecond line",
    "END:VCARD",
  ]),
  crlf([
    "BEGIN:VCARD",
    "VERSION:4.0",
    "FN:Max",
    "EMAIL;PREF=1:max@example.test",
    "TEL;VALUE=uri:tel:+49-30-1",
    "END:VCARD",
  ]),
  crlf([
    "BEGIN:VCARD",
    "VERSION:2.1",
    "N:Old;Style",
    "TEL;CELL;VOICE:123",
    "EMAIL;INTERNET:old@example.test",
    "END:VCARD",
  ]),
];

/** The only errors the DAV bridge handles for bad data: anything else would crash a Sync. */
const NAMED = [
  CalendarSyntaxError,
  EventMappingError,
  ContactMappingError,
  RecurrenceError,
  TimeZoneBlobError,
];

function expectHandled(what: string, work: () => unknown): void {
  try {
    timed(what, work);
  } catch (error) {
    if (!NAMED.some((type) => error instanceof type)) throw error;
  }
}

const SELF = { selfEmails: ["alice@example.test"] };
const PREFS = [{ type: 1, truncationSize: 200 }, { type: 2 }];

Deno.test("parseComponents() of any text parses or throws CalendarSyntaxError, and what parses serializes to the same tree", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.constantFrom(EVENT, TODO, ...CARDS).chain((seed) => textEdits.map((e) => mutateText(seed, e))),
      ),
      (text) => {
        let roots;
        try {
          roots = timed("parseComponents()", () => parseComponents(text));
        } catch (error) {
          if (error instanceof CalendarSyntaxError) return;
          throw error;
        }
        for (const root of roots) {
          const again = parseComponents(serialize(root));
          assert.deepEqual(again, [root]);
        }
      },
    ),
    fuzzParams(),
  );
});

Deno.test("iCalendar mapping of mutated events, tasks and notes gives an item or a named error", () => {
  fc.assert(
    fc.property(fc.constantFrom(EVENT, ALL_DAY), textEdits, (seed, edits) => {
      const text = mutateText(seed, edits);
      expectHandled(
        "appointmentFromIcs()",
        () => appointmentFromIcs(text, { ...SELF, bodyPreferences: PREFS }),
      );
    }),
    fuzzParams(),
  );
  fc.assert(
    fc.property(fc.constantFrom(TODO, NOTE), textEdits, (seed, edits) => {
      const text = mutateText(seed, edits);
      expectHandled("taskFromIcs()", () => taskFromIcs(text, PREFS));
      expectHandled("noteFromIcs()", () => noteFromIcs(text, PREFS));
    }),
    fuzzParams(),
  );
});

Deno.test("vCard mapping of mutated cards gives a contact or a named error; the GAL reader never throws", () => {
  fc.assert(
    fc.property(fc.constantFrom(...CARDS), textEdits, (seed, edits) => {
      const text = mutateText(seed, edits);
      expectHandled("contactFromVcard()", () => contactFromVcard(text, PREFS));
      timed("galEntryOfVcard()", () => galEntryOfVcard(text));
    }),
    fuzzParams(),
  );
});

Deno.test("the unmutated seeds map to items, so the mutations start from real data", () => {
  assert.equal(appointmentFromIcs(EVENT, SELF).subject, "Planning, weekly");
  assert.ok(appointmentFromIcs(EVENT, SELF).recurrence);
  assert.equal(appointmentFromIcs(ALL_DAY, SELF).allDayEvent, true);
  assert.equal(taskFromIcs(TODO).subject, "Do it");
  assert.equal(noteFromIcs(NOTE).subject, "Note");
  for (const card of CARDS) assert.ok(Object.keys(contactFromVcard(card).contact).length > 1);
});
