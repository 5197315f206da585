import assert from "node:assert/strict";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { saveAutodiscoverDomains } from "../../src/store/mail_domains.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/tree.ts";
import { decodeWithLibwbxml, validateWithXsd } from "./eas_checks.ts";
import { startBox } from "./fixture.ts";
import { DEFAULT_USERS } from "../harness/mod.ts";
import { startRadicale } from "../harness/_radicale.ts";
import { stopServer } from "../harness/_process.ts";
import { freePort } from "../harness/free_port.ts";

const R = "ResolveRecipients";

const CARD = (uid: string, fn: string, n: string, email: string) =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${n}\r\nEMAIL;TYPE=INTERNET:${email}\r\nEND:VCARD\r\n`;

const EVENT = (uid: string, lines: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//desk//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\n${lines}END:VEVENT\r\nEND:VCALENDAR\r\n`;

const WEEKLY =
  "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//desk//EN\r\nBEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20300101T000000Z\r\n" +
  "DTSTART:20300304T140000Z\r\nDTEND:20300304T150000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Standup\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

function resolveRequest(to: string[], availability = true): WbxmlElement {
  return el(
    R,
    "ResolveRecipients",
    ...to.map((t) => textEl(R, "To", t)),
    el(
      R,
      "Options",
      textEl(R, "MaxAmbiguousRecipients", 5),
      availability
        ? el(
          R,
          "Availability",
          textEl(R, "StartTime", "2030-03-18T08:00:00.000Z"),
          textEl(R, "EndTime", "2030-03-18T16:00:00.000Z"),
        )
        : undefined,
    ),
  );
}

Deno.test("ResolveRecipients finds alice's own contacts, her free/busy from Radicale, and answers 163 for bob's unreadable calendar", async () => {
  const box = await startBox({ dav: true });
  try {
    // The served mail domain, as the administrator sets it on the setup page: alice is alice@example.test.
    saveAutodiscoverDomains(box.server.store.settings, ["example.test"]);
    const alice = box.mailstore.users[0]!;
    const dav = new DavClient({
      url: new URL(box.mailstore.davUrl!),
      credentials: { user: alice.name, password: alice.password },
    });
    await dav.mutate(
      "MKCALENDAR",
      `/${alice.name}/calendar/`,
      '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Calendar</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
    );
    await dav.mutate(
      "MKCOL",
      `/${alice.name}/contacts/`,
      '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
    );
    const busy = "DTSTART:20300318T090000Z\r\nDTEND:20300318T100000Z\r\nSUMMARY:Review\r\n";
    const maybe = "DTSTART:20300318T110000Z\r\nDTEND:20300318T113000Z\r\nSTATUS:TENTATIVE\r\n";
    await dav.put(`/${alice.name}/calendar/busy.ics`, EVENT("busy-1", busy), "text/calendar", "");
    await dav.put(`/${alice.name}/calendar/maybe.ics`, EVENT("maybe-1", maybe), "text/calendar", "");
    await dav.put(`/${alice.name}/calendar/weekly.ics`, WEEKLY, "text/calendar", "");
    const contacts: [string, string, string, string][] = [
      ["zed", "Zed Zimmermann", "Zimmermann;Zed;;;", "zed@elsewhere.test"],
      ["zelda", "Zelda Zimmermann", "Zimmermann;Zelda;;;", "zelda@elsewhere.test"],
      ["bob", "Bob Builder", "Builder;Bob;;;", "bob@example.test"],
      ["me", "Alice Self", "Self;Alice;;;", alice.email],
    ];
    for (const [uid, fn, n, email] of contacts) {
      await dav.put(`/${alice.name}/contacts/${uid}.vcf`, CARD(uid, fn, n, email), "text/vcard", "");
    }

    const client = box.client(alice.name);
    const reply = await client.command(
      R,
      resolveRequest([alice.email, "bob@example.test", "Zed Zimm", "zimmermann", "nobody-here"]),
    );
    assert.equal(reply.status, 200);
    assert.equal(childText(reply.body, "Status", R), "1");
    const responses = childrenNamed(reply.body, "Response", R);
    assert.deepEqual(responses.map((r) => childText(r, "Status", R)), ["1", "1", "1", "2", "4"]);

    // Alice herself: 09:00-10:00 busy, 11:00-11:30 tentative, the weekly 14:00-15:00 busy (08:00-16:00 UTC).
    const self = child(responses[0], "Recipient", R);
    assert.equal(childText(self, "EmailAddress", R), alice.email);
    const own = child(self, "Availability", R);
    assert.equal(childText(own, "Status", R), "1");
    assert.equal(childText(own, "MergedFreeBusy", R), "0022001000002200");

    // Bob's calendar is his own under Radicale's owner_only rights: Availability Status 163.
    const bob = child(responses[1], "Recipient", R);
    assert.equal(childText(bob, "EmailAddress", R), "bob@example.test");
    assert.equal(childText(child(bob, "Availability", R), "Status", R), "163");
    assert.equal(child(child(bob, "Availability", R), "MergedFreeBusy", R), undefined);

    // Alice's own contacts come back as Type 2; a name shared by two contacts is ambiguous.
    const zed = child(responses[2], "Recipient", R);
    assert.deepEqual(
      [childText(zed, "Type", R), childText(zed, "DisplayName", R), childText(zed, "EmailAddress", R)],
      ["2", "Zed Zimmermann", "zed@elsewhere.test"],
    );
    assert.deepEqual(
      childrenNamed(responses[3], "Recipient", R).map((r) => childText(r, "EmailAddress", R)).sort(),
      ["zed@elsewhere.test", "zelda@elsewhere.test"],
    );
    assert.equal(childText(responses[3], "RecipientCount", R), "2");

    const xml = await decodeWithLibwbxml(reply.raw);
    assert.match(xml, /0022001000002200/);
    const check = await validateWithXsd(reply.raw);
    assert.ok(check.valid, check.messages);

    // Without Availability in the request, no Availability in the answer.
    const plain = await client.command(R, resolveRequest(["zelda"], false));
    const zelda = child(child(plain.body, "Response", R), "Recipient", R);
    assert.equal(childText(zelda, "EmailAddress", R), "zelda@elsewhere.test");
    assert.equal(child(zelda, "Availability", R), undefined);
  } finally {
    await box.stop();
  }
});

Deno.test("ResolveRecipients answers a colleague's free/busy where the DAV server lets users read each other's calendars", async () => {
  // Radicale with owner_write rights: every user may read bob's calendar; it ignores the
  // free-busy-query report, so the box reads bob's events of the window (RFC 4791 7.8.1).
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-rr-" });
  const port = freePort();
  const radicale = await startRadicale({ dir, port, users: DEFAULT_USERS, rights: "owner_write" });
  try {
    const davUrl = `http://127.0.0.1:${port}/`;
    const box = await startBox({ env: { PUSHBRIDGE_DAV_URL: davUrl } });
    try {
      saveAutodiscoverDomains(box.server.store.settings, ["example.test"]);
      const bob = DEFAULT_USERS[1]!;
      const dav = new DavClient({
        url: new URL(davUrl),
        credentials: { user: bob.name, password: bob.password },
      });
      await dav.discover();
      await dav.mutate(
        "MKCALENDAR",
        `/${bob.name}/calendar/`,
        '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
      );
      const busy = "DTSTART:20300318T090000Z\r\nDTEND:20300318T100000Z\r\nSUMMARY:Review\r\n";
      const away = "DTSTART:20300318T130000Z\r\nDTEND:20300318T140000Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n";
      await dav.put(`/${bob.name}/calendar/busy.ics`, EVENT("bob-busy", busy), "text/calendar", "");
      await dav.put(`/${bob.name}/calendar/away.ics`, EVENT("bob-away", away), "text/calendar", "");
      await dav.put(`/${bob.name}/calendar/weekly.ics`, WEEKLY, "text/calendar", "");

      // Bob's phone has synced once, so the box's GAL (its seen users) knows him.
      const bobSync = await box.client(bob.name).command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      );
      assert.equal(bobSync.status, 200);
      const reply = await box.client("alice").command(R, resolveRequest([bob.email]));
      assert.equal(reply.status, 200);
      const recipient = child(child(reply.body, "Response", R), "Recipient", R);
      const availability = child(recipient, "Availability", R);
      assert.equal(childText(availability, "Status", R), "1");
      // 08:00-16:00 UTC: busy 09:00-10:00, out of office 13:00-14:00, the weekly 14:00-15:00 busy.
      assert.equal(childText(availability, "MergedFreeBusy", R), "0022000000332200");
      const check = await validateWithXsd(reply.raw);
      assert.ok(check.valid, check.messages);
    } finally {
      await box.stop();
    }
  } finally {
    await stopServer(radicale);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
