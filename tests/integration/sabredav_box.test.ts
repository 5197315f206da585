/**
 * The box against SabreDAV (tests/harness/_sabredav.ts), the harness's CalDAV server with an
 * RFC 6638 scheduling outbox, end to end over EAS with real TLS, Postfix and Dovecot:
 * - ResolveRecipients Availability (MS-ASCMD 2.2.3.16) of a colleague is answered by the outbox
 *   VFREEBUSY POST (RFC 6638 5; issue 8);
 * - a meeting the phone creates by Sync Add is stored with SCHEDULE-AGENT=CLIENT (RFC 6638 7.1),
 *   and the only invitation bob receives is the one the phone sends through SendMail (MS-ASCMD
 *   2.2.1.17): neither the box nor the server sends a second one (issue 6).
 */
import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, opaqueEl, textEl } from "../../src/wbxml/mod.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { saveAutodiscoverDomains } from "../../src/store/mail_domains.ts";
import { messageCount } from "../harness/imap_peek.ts";
import { startSabreDav } from "../harness/_sabredav.ts";
import { DEFAULT_USERS } from "../harness/mod.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { startBox } from "./fixture.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { data, initialSync, listing, syncOnce } from "./dav_fixture.ts";
import { assertValidResponse, peekMessage, uidsOf, waitForCount } from "./send_fixture.ts";

const [ALICE, BOB] = DEFAULT_USERS as [typeof DEFAULT_USERS[0], typeof DEFAULT_USERS[0]];
const R = "ResolveRecipients";
const AS = "AirSync";
const FH = "FolderHierarchy";
const CAL = "Calendar";

const EVENT = (uid: string, lines: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//desk//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\n${lines}END:VEVENT\r\nEND:VCALENDAR\r\n`;

/** The phone's own invitation mail (iMIP, RFC 6047) for the meeting it created. */
function invitationMime(uid: string): string {
  const ics = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//phone//EN",
    "METHOD:REQUEST",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20300101T000000Z",
    "DTSTART:20300325T130000Z",
    "DTEND:20300325T140000Z",
    "SUMMARY:Planning",
    "ORGANIZER;CN=Alice:mailto:alice@example.test",
    "ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.test",
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");
  return [
    "From: Alice <alice@example.test>",
    "To: Bob <bob@example.test>",
    "Subject: Invitation: Planning",
    `Message-ID: <${crypto.randomUUID()}@phone.example.test>`,
    "MIME-Version: 1.0",
    'Content-Type: text/calendar; charset=utf-8; method="REQUEST"',
    "",
    ics,
  ].join("\r\n");
}

/** The ServerId of the first folder of a FolderType (MS-ASCMD 2.2.3.186.3), from a FolderSync from 0. */
async function folderOfType(client: EasClient, type: number): Promise<string> {
  const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
  const add = childrenNamed(child(folders.body, "Changes", FH), "Add", FH)
    .find((a) => childText(a, "Type", FH) === String(type));
  assert.ok(add, `FolderSync lists a folder of type ${type}`);
  return childText(add, "ServerId", FH)!;
}

Deno.test("The box on SabreDAV: a colleague's free/busy through the outbox, and a phone meeting sent once", async (t) => {
  const sabre = await startSabreDav(DEFAULT_USERS);
  try {
    const box = await startBox({ postfix: true, env: { PUSHBRIDGE_DAV_URL: sabre.url } });
    try {
      saveAutodiscoverDomains(box.server.store.settings, ["example.test"]);
      const url = new URL(sabre.url);
      const bobDav = new DavClient({ url, credentials: { user: BOB.name, password: BOB.password } });
      const aliceDav = new DavClient({ url, credentials: { user: ALICE.name, password: ALICE.password } });

      await t.step("ResolveRecipients answers bob's busy time from SabreDAV's outbox", async () => {
        const busy = "DTSTART:20300318T090000Z\r\nDTEND:20300318T100000Z\r\nSUMMARY:Review\r\n";
        const maybe = "DTSTART:20300318T110000Z\r\nDTEND:20300318T113000Z\r\nSTATUS:TENTATIVE\r\n";
        await bobDav.put(`${sabre.calendar(BOB.name)}busy.ics`, EVENT("bob-busy", busy), "text/calendar", "");
        await bobDav.put(
          `${sabre.calendar(BOB.name)}maybe.ics`,
          EVENT("bob-maybe", maybe),
          "text/calendar",
          "",
        );
        // Bob's phone has synced once, so the box's GAL (its seen users) knows him.
        const bobSync = await box.client(BOB.name).command(
          "FolderSync",
          el(FH, "FolderSync", textEl(FH, "SyncKey", "0")),
        );
        assert.equal(bobSync.status, 200);
        const reply = await box.client(ALICE.name).command(
          R,
          el(
            R,
            "ResolveRecipients",
            textEl(R, "To", BOB.email),
            el(
              R,
              "Options",
              el(
                R,
                "Availability",
                textEl(R, "StartTime", "2030-03-18T08:00:00.000Z"),
                textEl(R, "EndTime", "2030-03-18T16:00:00.000Z"),
              ),
            ),
          ),
        );
        assert.equal(reply.status, 200);
        const check = await validateWithXsd(reply.raw);
        assert.ok(check.valid, check.messages);
        const recipient = child(child(reply.body, "Response", R), "Recipient", R);
        assert.equal(childText(recipient, "EmailAddress", R), BOB.email);
        const availability = child(recipient, "Availability", R);
        assert.equal(childText(availability, "Status", R), "1");
        // 08:00-16:00 UTC in half hours: busy 09:00-10:00, tentative 11:00-11:30. Alice may not
        // list bob's calendar home on SabreDAV (403 propstats), so only the outbox can answer this.
        assert.equal(childText(availability, "MergedFreeBusy", R), "0022001000000000");
      });

      await t.step(
        "a meeting alice's phone adds is stored client-scheduled; bob gets one invitation",
        async () => {
          const client = box.client(ALICE.name);
          const calendarId = await folderOfType(client, 8);
          const first = await initialSync(client, calendarId, "Calendar");
          assert.deepEqual(first.commands, []);
          const added = await syncOnce(client, calendarId, first.syncKey, [
            el(
              AS,
              "Commands",
              el(
                AS,
                "Add",
                textEl(AS, "ClientId", "meeting-1"),
                el(
                  AS,
                  "ApplicationData",
                  textEl(CAL, "AllDayEvent", 0),
                  textEl(CAL, "BusyStatus", 2),
                  textEl(CAL, "DtStamp", "20300101T000000Z"),
                  textEl(CAL, "StartTime", "20300325T130000Z"),
                  textEl(CAL, "EndTime", "20300325T140000Z"),
                  textEl(CAL, "Subject", "Planning"),
                  textEl(CAL, "Sensitivity", 0),
                  textEl(CAL, "MeetingStatus", 1),
                  el(
                    CAL,
                    "Attendees",
                    el(
                      CAL,
                      "Attendee",
                      textEl(CAL, "Email", BOB.email),
                      textEl(CAL, "Name", "Bob"),
                      textEl(CAL, "AttendeeType", 1),
                    ),
                  ),
                ),
              ),
            ),
          ]);
          const response = added.responses.find((x) => x.name === "Add")!;
          assert.equal(childText(response, "Status", AS), "1");
          const [href] = await listing(aliceDav, sabre.calendar(ALICE.name));
          const stored = (await aliceDav.get(href!))!.data.replace(/\r?\n[ \t]/g, "");
          assert.match(stored, /^ATTENDEE[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:bob@example\.test/mi);
          assert.match(
            stored,
            /^ORGANIZER[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:alice@example\.test/mi,
          );
          const uid = /^UID:(.+)$/m.exec(stored)![1]!.trim();

          // The phone reads its meeting back as it wrote it: the marking is the server's business.
          const again = await syncOnce(client, calendarId, added.syncKey);
          assert.deepEqual(again.commands, []);

          // The phone sends its invitation itself; Postfix delivers it to bob's Dovecot INBOX.
          const sent = await client.command(
            "SendMail",
            el(
              "ComposeMail",
              "SendMail",
              textEl("ComposeMail", "ClientId", "invite-1"),
              el("ComposeMail", "SaveInSentItems"),
              opaqueEl("ComposeMail", "Mime", new TextEncoder().encode(invitationMime(uid))),
            ),
          );
          assert.equal(sent.status, 200);
          if (sent.raw.length) await assertValidResponse(sent);
          assert.equal(sent.raw.length, 0, "success is an empty response");
          assert.equal(await waitForCount(box.mailstore, BOB.name, 1), 1);
          // Give any second sender time to show: bob's INBOX still holds the phone's one mail.
          await new Promise((r) => setTimeout(r, 1_500));
          assert.equal(await messageCount(box.mailstore, BOB.name), 1);
          const [bobUid] = await uidsOf(box.mailstore, BOB.name);
          const delivered = (await peekMessage(box.mailstore, BOB.name, "INBOX", bobUid!)).text;
          assert.match(delivered, new RegExp(`UID:${uid}`));
          assert.match(delivered, /PRODID:-\/\/phone\/\/EN/);
          // Nor did SabreDAV put anything into bob's calendar for it.
          assert.deepEqual(
            (await listing(bobDav, sabre.calendar(BOB.name))).filter((h) => !/busy|maybe/.test(h)),
            [],
          );
        },
      );

      await t.step(
        "bob's phone syncs his Inbox: the box places the invitation in his SabreDAV calendar",
        async () => {
          const client = box.client(BOB.name);
          const inboxId = await folderOfType(client, 2);
          const inbox = await initialSync(client, inboxId, "Email");
          assert.equal(inbox.commands.length, 1);
          assert.ok(child(data(inbox.commands[0]!), "MeetingRequest", "Email"), "shown as a meeting request");
          const placed = (await listing(bobDav, sabre.calendar(BOB.name))).filter((h) =>
            !/busy|maybe/.test(h)
          );
          assert.equal(placed.length, 1);
          const stored = (await bobDav.get(placed[0]!))!.data.replace(/\r?\n[ \t]/g, "");
          assert.match(stored, /^SUMMARY:Planning/m);
          assert.doesNotMatch(stored, /^METHOD:/m);
          // Bob's copy is client-scheduled too: his answer goes out through his phone's SendMail.
          assert.match(stored, /^ATTENDEE[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:bob@example\.test/mi);
          assert.match(
            stored,
            /^ORGANIZER[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:alice@example\.test/mi,
          );
          assert.equal(await messageCount(box.mailstore, ALICE.name), 0, "alice got no mail from the server");
        },
      );
    } finally {
      await box.stop();
    }
  } finally {
    await sabre.stop();
  }
});
