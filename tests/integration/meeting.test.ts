import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { saveAutodiscoverDomains } from "../../src/store/mail_domains.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";
import { startBox } from "./fixture.ts";
import { peekMessage, uidsOf, waitForCount } from "./send_fixture.ts";

const AS = "AirSync";
const FH = "FolderHierarchy";
const MR = "MeetingResponse";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");

/** Bob's iMIP invitation (RFC 6047) to alice. */
const INVITATION = crlf(`From: Bob <bob@example.test>
To: alice@example.test
Subject: Invitation: Budget review
Date: Fri, 20 Nov 2026 09:00:00 +0000
Message-ID: <invite-1@example.test>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Budget review on Wednesday.
--alt
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//bob//EN
METHOD:REQUEST
BEGIN:VEVENT
UID:budget-review-1@example.test
DTSTAMP:20261120T090000Z
SEQUENCE:0
DTSTART:20301202T140000Z
DTEND:20301202T150000Z
SUMMARY:Budget review
LOCATION:Room 4
ORGANIZER;CN=Bob:mailto:bob@example.test
ATTENDEE;CN=Alice;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test
END:VEVENT
END:VCALENDAR
--alt--
`);

const MKCALENDAR =
  '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Calendar</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>';

async function command(client: EasClient, name: string, tree: WbxmlElement) {
  const reply = await client.command(name, tree);
  assert.equal(reply.status, 200, new TextDecoder().decode(reply.raw));
  const check = await validateWithXsd(reply.raw);
  assert.ok(check.valid, check.messages);
  return reply.body;
}

const collection = (body: WbxmlElement | undefined) =>
  child(child(body, "Collections", AS), "Collection", AS);

/** FolderSync from 0; returns the ServerId of the folder of an EAS folder type (2 Inbox, 8 Calendar). */
async function folderOfType(client: EasClient): Promise<(type: number) => string> {
  const folders = await command(client, "FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
  const adds = childrenNamed(child(folders, "Changes", FH), "Add", FH);
  return (type) => childText(adds.find((a) => childText(a, "Type", FH) === String(type)), "ServerId", FH)!;
}

/**
 * A MeetingResponse (MS-ASCMD 2.2.1.11) to one request; `sendResponse` adds SendResponse with
 * these children (MS-ASCMD 2.2.3.159), omitted it sends no response.
 */
function meetingResponse(
  userResponse: number,
  collectionId: string,
  requestId: string,
  sendResponse?: WbxmlElement[],
): WbxmlElement {
  const request = [
    textEl(MR, "UserResponse", userResponse),
    textEl(MR, "CollectionId", collectionId),
    textEl(MR, "RequestId", requestId),
    sendResponse && el(MR, "SendResponse", ...sendResponse),
  ];
  return el(MR, "MeetingResponse", el(MR, "Request", ...request));
}

Deno.test("MeetingResponse accepts bob's invitation: the event is in alice's CalDAV calendar and bob gets a REPLY", async (t) => {
  const box = await startBox({ dav: true, postfix: true });
  try {
    saveAutodiscoverDomains(box.server.store.settings, ["example.test"]);
    const alice = box.mailstore.users.find((u) => u.name === "alice")!;
    const dav = new DavClient({
      url: new URL(box.mailstore.davUrl!),
      credentials: { user: alice.name, password: alice.password },
    });
    await dav.mutate("MKCALENDAR", "/alice/calendar/", MKCALENDAR);
    await box.mailstore.deliver("alice", INVITATION);
    const client = box.client("alice");
    const idOfType = await folderOfType(client);
    const inbox = idOfType(2);
    const calendar = idOfType(8);
    /** The unfolded calendar objects of alice's calendar, read back independently. */
    const calendarObjects = async () => {
      const listing = (await dav.propfind("/alice/calendar/", [["DAV:", "getetag"]], 1))
        .filter((r) => !r.href.endsWith("/"));
      const objects = await Promise.all(listing.map((r) => dav.get(r.href)));
      return objects.map((o) => o!.data.replace(/\r\n[ \t]/g, ""));
    };
    let inboxKey = "";
    /** Syncs the Inbox and returns the new mail. */
    const syncInbox = async () => {
      if (!inboxKey) {
        inboxKey = childText(
          collection(await command(client, "Sync", syncRequest(inbox, "0"))),
          "SyncKey",
          AS,
        )!;
      }
      const items = collection(await command(client, "Sync", syncRequest(inbox, inboxKey)));
      inboxKey = childText(items, "SyncKey", AS)!;
      return childrenNamed(child(items, "Commands", AS), "Add", AS);
    };

    let requestId = "";
    let calendarItem = "";
    await t.step("the Inbox shows the invitation as a meeting request", async () => {
      const add = (await syncInbox())[0]!;
      requestId = childText(add, "ServerId", AS)!;
      const data = child(add, "ApplicationData", AS);
      assert.equal(childText(data, "MessageClass", "Email"), "IPM.Schedule.Meeting.Request");
      const meeting = child(data, "MeetingRequest", "Email");
      assert.ok(meeting, "the mail carries MeetingRequest");
      assert.equal(childText(meeting, "StartTime", "Email"), "2030-12-02T14:00:00.000Z");
      assert.equal(childText(meeting, "Organizer", "Email"), '"Bob" <bob@example.test>');
      assert.ok(childText(meeting, "GlobalObjId", "Email"));

      // Syncing the Inbox placed the invitation in the calendar, not answered and shown tentative.
      const placed = await calendarObjects();
      assert.equal(placed.length, 1);
      assert.match(placed[0]!, /ATTENDEE[^\r\n]*PARTSTAT=NEEDS-ACTION[^\r\n]*:mailto:alice@example\.test/);
      assert.match(placed[0]!, /X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE/);
    });

    await t.step(
      "accepting puts the event with PARTSTAT=ACCEPTED into CalDAV and sends bob a REPLY",
      async () => {
        const body = await command(client, "MeetingResponse", meetingResponse(1, inbox, requestId, []));
        const result = child(body, "Result", MR);
        assert.equal(childText(result, "Status", MR), "1");
        assert.equal(childText(result, "RequestId", MR), requestId);
        const calendarId = childText(result, "CalendarId", MR)!;
        assert.ok(calendarId.startsWith(`${calendar}:`), calendarId);

        const objects = await calendarObjects();
        assert.equal(objects.length, 1, "the placed event was updated, not duplicated");
        const stored = objects[0]!;
        assert.match(stored, /UID:budget-review-1@example\.test/);
        assert.doesNotMatch(stored, /X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE/);
        assert.match(stored, /ATTENDEE[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:alice@example\.test/);
        assert.doesNotMatch(stored, /METHOD:/);

        assert.equal(await waitForCount(box.mailstore, "bob", 1), 1);
        const [uid] = await uidsOf(box.mailstore, "bob");
        const reply = (await peekMessage(box.mailstore, "bob", "INBOX", uid!)).text;
        assert.match(reply, /Subject: Accepted: Budget review/);
        assert.match(reply, /text\/calendar;[^\r\n]*method=REPLY/i);
        assert.match(reply, /METHOD:REPLY/);
        assert.match(
          reply.replace(/\r\n[ \t]/g, ""),
          /ATTENDEE[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:alice@example\.test/,
        );

        // The calendar item the phone was told about syncs with the user's answer (ResponseType 3).
        const sync = (key: string) => command(client, "Sync", syncRequest(calendar, key));
        const first = collection(await sync("0"));
        const items = collection(await sync(childText(first, "SyncKey", AS)!));
        const add = childrenNamed(child(items, "Commands", AS), "Add", AS)[0]!;
        assert.equal(childText(add, "ServerId", AS), calendarId);
        assert.equal(childText(child(add, "ApplicationData", AS), "ResponseType", "Calendar"), "3");
        calendarItem = calendarId;
      },
    );

    await t.step(
      "a tentative answer on the calendar item with a proposed time sends bob a COUNTER",
      async () => {
        const body = await command(
          client,
          "MeetingResponse",
          meetingResponse(2, calendar, calendarItem, [
            textEl(MR, "ProposedStartTime", "20301202T160000Z"),
            textEl(MR, "ProposedEndTime", "20301202T170000Z"),
          ]),
        );
        const result = child(body, "Result", MR);
        assert.equal(childText(result, "Status", MR), "1");
        assert.equal(childText(result, "CalendarId", MR), calendarItem);
        const objects = await calendarObjects();
        assert.equal(objects.length, 1);
        assert.match(objects[0]!, /ATTENDEE[^\r\n]*PARTSTAT=TENTATIVE[^\r\n]*:mailto:alice@example\.test/);
        assert.equal(await waitForCount(box.mailstore, "bob", 2), 2);
        const uids = await uidsOf(box.mailstore, "bob");
        const counter = (await peekMessage(box.mailstore, "bob", "INBOX", uids.at(-1)!)).text;
        assert.match(counter, /Subject: New Time Proposed: Budget review/);
        assert.match(counter, /METHOD:COUNTER/);
        assert.match(counter, /DTSTART:20301202T160000Z/);
      },
    );

    await t.step(
      "bob's phone syncing his Inbox puts alice's answer into his copy of the meeting",
      async () => {
        const bob = box.mailstore.users.find((u) => u.name === "bob")!;
        const bobDav = new DavClient({
          url: new URL(box.mailstore.davUrl!),
          credentials: { user: bob.name, password: bob.password },
        });
        await bobDav.mutate("MKCALENDAR", "/bob/calendar/", MKCALENDAR);
        const ics = INVITATION.slice(INVITATION.indexOf("BEGIN:VCALENDAR"), INVITATION.indexOf("--alt--"))
          .replace("METHOD:REQUEST\r\n", "");
        await bobDav.put("/bob/calendar/budget.ics", ics, "text/calendar", "");
        const bobClient = box.client("bob");
        const bobInbox = (await folderOfType(bobClient))(2);
        const first = collection(await command(bobClient, "Sync", syncRequest(bobInbox, "0")));
        await command(bobClient, "Sync", syncRequest(bobInbox, childText(first, "SyncKey", AS)!));
        const copy = (await bobDav.get("/bob/calendar/budget.ics"))!.data.replace(/\r\n[ \t]/g, "");
        assert.match(copy, /ATTENDEE[^\r\n]*PARTSTAT=ACCEPTED[^\r\n]*:mailto:alice@example\.test/);
      },
    );

    await t.step(
      "declining the same request removes the event; without SendResponse nothing is sent",
      async () => {
        const body = await command(client, "MeetingResponse", meetingResponse(3, inbox, requestId));
        assert.equal(childText(child(body, "Result", MR), "Status", MR), "1");
        assert.equal(childText(child(body, "Result", MR), "CalendarId", MR), undefined);
        const left = (await dav.propfind("/alice/calendar/", [["DAV:", "getetag"]], 1))
          .filter((r) => !r.href.endsWith("/"));
        assert.equal(left.length, 0);
        await new Promise((r) => setTimeout(r, 1000));
        assert.equal((await uidsOf(box.mailstore, "bob")).length, 2, "no further reply was sent");
      },
    );

    await t.step("a plain mail or an unknown id is no meeting request (Status 2)", async () => {
      const body = await command(client, "MeetingResponse", meetingResponse(1, inbox, `${inbox}:999`));
      assert.equal(childText(child(body, "Result", MR), "Status", MR), "2");
    });

    await t.step("a cancellation from the organizer marks the placed meeting canceled", async () => {
      const second = INVITATION.replace("budget-review-1@", "offsite-1@").replace("<invite-1@", "<invite-2@")
        .replaceAll("Budget review", "Offsite");
      await box.mailstore.deliver("alice", second);
      assert.equal((await syncInbox()).length, 1);
      assert.ok(
        (await calendarObjects()).some((o) => /UID:offsite-1@/.test(o) && !/STATUS:CANCELLED/.test(o)),
      );
      const cancel = second.replaceAll("method=REQUEST", "method=CANCEL").replace(
        "METHOD:REQUEST",
        "METHOD:CANCEL",
      )
        .replace("<invite-2@", "<cancel-2@").replace("SEQUENCE:0", "SEQUENCE:1")
        .replace("Subject: Invitation: Offsite", "Subject: Canceled: Offsite");
      await box.mailstore.deliver("alice", cancel);
      const adds = await syncInbox();
      assert.equal(adds.length, 1);
      const data = child(adds[0]!, "ApplicationData", AS);
      assert.equal(childText(data, "MessageClass", "Email"), "IPM.Schedule.Meeting.Canceled");
      const offsite = (await calendarObjects()).find((o) => /UID:offsite-1@/.test(o));
      assert.match(offsite!, /STATUS:CANCELLED/);
    });
  } finally {
    await box.stop();
  }
});
