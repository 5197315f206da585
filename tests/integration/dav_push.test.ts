import assert from "node:assert/strict";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { startBox } from "./fixture.ts";
import { pingRequest } from "../../tools/eas_client/requests.ts";

const crlf = (text: string) => text.replaceAll("\n", "\r\n");
const EVENT = (uid: string) =>
  crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VEVENT
UID:${uid}
DTSTAMP:20300101T000000Z
DTSTART:20300318T090000Z
DTEND:20300318T100000Z
SUMMARY:Planned on the desktop
END:VEVENT
END:VCALENDAR
`);
const CARD = crlf(`BEGIN:VCARD
VERSION:3.0
UID:card-push
FN:Dana Desk
N:Desk;Dana;;;
EMAIL:dana@example.test
END:VCARD
`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a Ping on calendar and contacts folders wakes within one DAV poll interval of a desktop change", async () => {
  // A short interval keeps the test quick; the default is 30 s (push/limits.ts).
  const box = await startBox({ dav: true, env: { PUSHBRIDGE_DAV_POLL: "5" } });
  try {
    const alice = box.mailstore.users[0]!;
    const dav = new DavClient({
      url: new URL(box.mailstore.davUrl!),
      credentials: { user: alice.name, password: alice.password },
    });
    await dav.mutate(
      "MKCALENDAR",
      `/${alice.name}/calendar/`,
      `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Calendar</d:displayname></d:prop></d:set></c:mkcalendar>`,
    );
    await dav.mutate(
      "MKCOL",
      `/${alice.name}/contacts/`,
      '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
    );
    const client = box.client();
    const folders = await client.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    const adds = childrenNamed(child(folders.body, "Changes"), "Add");
    const calendarId = childText(adds.find((a) => childText(a, "Type") === "8"), "ServerId")!;
    const contactsId = childText(adds.find((a) => childText(a, "Type") === "9"), "ServerId")!;
    assert.ok(calendarId && contactsId, "FolderSync lists the default calendar and address book");

    const ping = () =>
      client.command("Ping", pingRequest(120, [[calendarId, "Calendar"], [contactsId, "Contacts"]]));
    const untilBaseline = async () => {
      for (let i = 0; i < 250 && box.server.push.hub.stats().held < 1; i++) await sleep(20);
      // The poller's first round is the baseline the hub compares later tokens with.
      for (let i = 0; i < 250 && !box.server.push.hub.status().every((u) => u.keys >= 2); i++) {
        await sleep(20);
      }
      await sleep(300);
    };

    for (
      const [change, expected] of [
        [() => dav.put(`/${alice.name}/calendar/push.ics`, EVENT("push-1"), "text/calendar", ""), calendarId],
        [() => dav.put(`/${alice.name}/contacts/dana.vcf`, CARD, "text/vcard", ""), contactsId],
      ] as const
    ) {
      const pending = ping();
      await untilBaseline();
      const changed = performance.now();
      await change();
      const reply = await pending;
      const ms = performance.now() - changed;
      assert.equal(reply.status, 200);
      assert.equal(childText(reply.body, "Status"), "2", "the Ping reports changes");
      assert.deepEqual(childrenNamed(child(reply.body, "Folders"), "Folder").map((f) => f.text), [expected]);
      // One 5 s interval, plus the time the probe and the answer take.
      assert.ok(ms < 7000, `answered ${Math.round(ms)} ms after the desktop change`);
      const xsd = await validateWithXsd(reply.raw);
      assert.ok(xsd.valid, xsd.messages);
    }
  } finally {
    await box.stop();
  }
});
