import assert from "node:assert/strict";
import { MeetingRequestError } from "../../../src/backend/items.ts";
import {
  answeredEvent,
  answeredOccurrence,
  cancelledEvent,
  clientScheduled,
  NEEDS_ACTION,
  readInvitation,
  repliedEvent,
  replyCalendar,
  sequenceOf,
} from "../../../src/bridge/dav/itip.ts";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");
const unfold = (s: string) => s.replace(/\r\n[ \t]/g, "");

const REQUEST = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//bob//EN
METHOD:REQUEST
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly@example.test
DTSTAMP:20261120T090000Z
SEQUENCE:2
DTSTART;TZID=Europe/Berlin:20301202T100000
DTEND;TZID=Europe/Berlin:20301202T110000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly sync
ORGANIZER;CN=Bob:mailto:bob@example.test
ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:Alice@Example.test
ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:mailto:carol@example.test
END:VEVENT
BEGIN:VEVENT
UID:weekly@example.test
DTSTAMP:20261120T090000Z
RECURRENCE-ID;TZID=Europe/Berlin:20301209T100000
DTSTART;TZID=Europe/Berlin:20301209T120000
DTEND;TZID=Europe/Berlin:20301209T130000
SUMMARY:Weekly sync (moved)
ORGANIZER;CN=Bob:mailto:bob@example.test
ATTENDEE;CN=Alice;PARTSTAT=NEEDS-ACTION:mailto:alice@example.test
END:VEVENT
END:VCALENDAR
`);

Deno.test("readInvitation() names organizer, user and summary, and refuses the user's own meeting", () => {
  const invitation = readInvitation(REQUEST, ["alice@example.test"]);
  assert.deepEqual(invitation, {
    uid: "weekly@example.test",
    summary: "Weekly sync",
    organizer: "bob@example.test",
    method: "REQUEST",
    self: "alice@example.test",
  });
  assert.throws(() => readInvitation(REQUEST, ["bob@example.test"]), MeetingRequestError);
  assert.throws(
    () => readInvitation(REQUEST.replace("METHOD:REQUEST", "METHOD:REPLY"), []),
    MeetingRequestError,
  );
  assert.throws(() => readInvitation("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", []), MeetingRequestError);
});

Deno.test("answeredEvent() stores the user's PARTSTAT in every occurrence, without METHOD or RSVP", () => {
  const stored = unfold(answeredEvent(REQUEST, "alice@example.test", "ACCEPTED"));
  assert.doesNotMatch(stored, /METHOD:/);
  assert.equal(
    stored.match(/ATTENDEE[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:alice@example\.test/gi)?.length,
    2,
  );
  assert.doesNotMatch(stored, /RSVP/);
  assert.match(stored, /ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:mailto:carol@example\.test/);
  const placed = unfold(answeredEvent(REQUEST, "alice@example.test", NEEDS_ACTION));
  assert.equal(placed.match(/X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE/g)?.length, 2);
  assert.doesNotMatch(unfold(answeredEvent(placed, "alice@example.test", "TENTATIVE")), /X-MICROSOFT-CDO/);
});

Deno.test("replyCalendar() writes a REPLY with only the user, or a COUNTER with the proposed times", () => {
  const now = Date.UTC(2026, 10, 21, 8, 0, 0);
  const reply = replyCalendar(REQUEST, "alice@example.test", "DECLINED", { now, prodId: "-//test//EN" });
  assert.equal(reply.method, "REPLY");
  const text = unfold(reply.ics);
  assert.match(text, /METHOD:REPLY/);
  assert.match(text, /UID:weekly@example\.test/);
  assert.match(text, /SEQUENCE:2/);
  assert.match(text, /DTSTAMP:20261121T080000Z/);
  assert.match(text, /ATTENDEE;PARTSTAT=DECLINED;CN=Alice:mailto:Alice@Example\.test/);
  assert.doesNotMatch(text, /carol/);
  assert.match(text, /BEGIN:VTIMEZONE/, "the zone of DTSTART goes along");
  assert.equal(text.match(/BEGIN:VEVENT/g)?.length, 1);

  const counter = replyCalendar(REQUEST, "alice@example.test", "TENTATIVE", {
    now,
    prodId: "-//test//EN",
    proposed: { startMs: Date.UTC(2030, 11, 2, 14), endMs: Date.UTC(2030, 11, 2, 15) },
  });
  assert.equal(counter.method, "COUNTER");
  assert.match(counter.ics, /DTSTART:20301202T140000Z\r\nDTEND:20301202T150000Z/);
  assert.doesNotMatch(counter.ics, /VTIMEZONE/);
});

Deno.test("cancelledEvent() cancels the whole meeting, or one occurrence, only for the organizer's CANCEL", () => {
  const stored = answeredEvent(REQUEST, "alice@example.test", "ACCEPTED");
  const whole = REQUEST.replace("METHOD:REQUEST", "METHOD:CANCEL");
  assert.equal(unfold(cancelledEvent(stored, whole)!).match(/STATUS:CANCELLED/g)?.length, 2);
  const forged = whole.replaceAll("mailto:bob@example.test", "mailto:mallory@example.test");
  assert.equal(cancelledEvent(stored, forged), undefined);

  const oneOccurrence = crlf(`BEGIN:VCALENDAR
METHOD:CANCEL
BEGIN:VEVENT
UID:weekly@example.test
RECURRENCE-ID;TZID=Europe/Berlin:20301216T100000
ORGANIZER:mailto:bob@example.test
END:VEVENT
END:VCALENDAR
`);
  const excluded = unfold(cancelledEvent(stored, oneOccurrence)!);
  assert.match(excluded, /EXDATE;TZID=Europe\/Berlin:20301216T100000/);
  assert.doesNotMatch(excluded, /STATUS:CANCELLED/);
});

Deno.test("clientScheduled() marks organizer and attendees SCHEDULE-AGENT=CLIENT, and leaves plain events alone", () => {
  const marked = unfold(clientScheduled(answeredEvent(REQUEST, "alice@example.test", "ACCEPTED")));
  assert.equal(marked.match(/SCHEDULE-AGENT=CLIENT/g)?.length, 5);
  const plain = crlf(`BEGIN:VCALENDAR
BEGIN:VEVENT
UID:x
DTSTART:20300101T100000Z
END:VEVENT
END:VCALENDAR
`);
  assert.equal(clientScheduled(plain), plain);
  assert.equal(sequenceOf(REQUEST), 2);
  assert.equal(sequenceOf(plain), 0);
});

Deno.test("repliedEvent() records an attendee's answer in the organizer's copy only", () => {
  const organizerCopy = REQUEST.replace("METHOD:REQUEST\r\n", "");
  const reply =
    replyCalendar(REQUEST, "alice@example.test", "ACCEPTED", { now: 0, prodId: "-//test//EN" }).ics;
  const updated = unfold(repliedEvent(organizerCopy, reply, ["bob@example.test"])!);
  assert.equal(updated.match(/PARTSTAT=ACCEPTED[^\r\n]*:mailto:alice@example\.test/gi)?.length, 2);
  assert.match(updated, /ATTENDEE;CN=Carol;PARTSTAT=ACCEPTED:mailto:carol@example\.test/);
  assert.equal(repliedEvent(organizerCopy, reply, ["alice@example.test"]), undefined, "not the organizer");
  assert.equal(repliedEvent(updated, reply, ["bob@example.test"]), undefined, "nothing new");
});

Deno.test("answeredOccurrence() answers one occurrence in a new or existing override, and the reply names it", () => {
  const stored = answeredEvent(REQUEST, "alice@example.test", NEEDS_ACTION);
  const third = answeredOccurrence(stored, "alice@example.test", "DECLINED", Date.UTC(2030, 11, 16, 9));
  assert.equal(third.recurrenceId, "20301216T100000");
  const text = unfold(third.ics);
  assert.match(
    text,
    /RECURRENCE-ID;TZID=Europe\/Berlin:20301216T100000\r\nDTSTART;TZID=Europe\/Berlin:20301216T100000\r\nDTEND;TZID=Europe\/Berlin:20301216T110000/,
  );
  assert.equal(text.match(/PARTSTAT=DECLINED/g)?.length, 1, "only the occurrence is declined");
  assert.equal(text.match(/BEGIN:VEVENT/g)?.length, 3);
  assert.doesNotMatch(text.split("RECURRENCE-ID;TZID=Europe/Berlin:20301216T100000")[1]!, /RRULE/);

  const second = answeredOccurrence(third.ics, "alice@example.test", "ACCEPTED", Date.UTC(2030, 11, 9, 9));
  assert.equal(second.recurrenceId, "20301209T100000");
  assert.equal(unfold(second.ics).match(/BEGIN:VEVENT/g)?.length, 3, "the existing override is reused");
  const reply = replyCalendar(second.ics, "alice@example.test", "ACCEPTED", {
    now: 0,
    prodId: "-//test//EN",
    recurrenceId: second.recurrenceId,
  });
  assert.match(reply.ics, /RECURRENCE-ID;TZID=Europe\/Berlin:20301209T100000/);
  assert.match(reply.ics, /DTSTART;TZID=Europe\/Berlin:20301209T120000/);

  const single = REQUEST.replace("RRULE:FREQ=WEEKLY;COUNT=4\r\n", "");
  assert.throws(() => answeredOccurrence(single, "alice@example.test", "ACCEPTED", 0), MeetingRequestError);
});
