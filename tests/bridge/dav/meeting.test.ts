import assert from "node:assert/strict";
import { globalObjIdOf, meetingRequestFromIcs } from "../../../src/bridge/dav/meeting.ts";

const INVITE = "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:inv-1\r\n" +
  "DTSTAMP:20260301T080000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\nSUMMARY:Review\r\n" +
  "LOCATION:Room 2\r\nORGANIZER;CN=Bob:mailto:bob@example.com\r\n" +
  "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

Deno.test("meetingRequestFromIcs() gives the MeetingRequest fields of a REQUEST", () => {
  const m = meetingRequestFromIcs(INVITE, ["alice@example.com"])!;
  assert.equal(m.messageClass, "IPM.Schedule.Meeting.Request");
  assert.equal(m.startTime, "20260310T090000Z");
  assert.equal(m.endTime, "20260310T100000Z");
  assert.equal(m.organizer, '"Bob" <bob@example.com>');
  assert.equal(m.location, "Room 2");
  assert.equal(m.instanceType, 0);
  assert.equal(m.responseRequested, true);
  assert.equal(m.busyStatus, 1);
  assert.equal(m.globalObjId, globalObjIdOf("inv-1"));
});

Deno.test("meetingRequestFromIcs() recognises cancellations and ignores replies and junk", () => {
  assert.equal(
    meetingRequestFromIcs(INVITE.replace("METHOD:REQUEST", "METHOD:CANCEL"))!.messageClass,
    "IPM.Schedule.Meeting.Canceled",
  );
  assert.equal(meetingRequestFromIcs(INVITE.replace("METHOD:REQUEST", "METHOD:REPLY")), undefined);
  assert.equal(meetingRequestFromIcs("not a calendar"), undefined);
});

Deno.test("globalObjIdOf() writes the vCal-Uid form with the data length", () => {
  const bytes = Uint8Array.from(atob(globalObjIdOf("abc")), (c) => c.charCodeAt(0));
  assert.equal(bytes[0], 0x04);
  assert.equal(new DataView(bytes.buffer).getUint32(36, true), 16);
  assert.equal(new TextDecoder().decode(bytes.subarray(40, 48)), "vCal-Uid");
});
