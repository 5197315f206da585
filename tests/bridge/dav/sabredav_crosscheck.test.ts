/**
 * The DAV bridge against SabreDAV (Debian's php-sabre-dav 1.8, the library under Nextcloud and
 * Baikal), the one harness server with an RFC 6638 scheduling outbox. What it checks that Radicale
 * and Xandikos cannot:
 * - discovery finds schedule-outbox-URL (RFC 6638 2.1.1), so the bridge treats the server as
 *   scheduling: meetings the phone writes carry SCHEDULE-AGENT=CLIENT (RFC 6638 7.1) on ORGANIZER
 *   and ATTENDEE, since the phone sends its own invitations through SendMail (issue 6);
 * - ResolveRecipients Availability of a colleague goes through a VFREEBUSY POST to the outbox
 *   (RFC 6638 5, issue 8) and reads the busy time Sabre computes from bob's calendar.
 * Other differences: Sabre 1.8 has no sync-token (no RFC 6578 sync-collection), only the
 * calendarserver ctag, so changes are found through the ETag listing; it does no implicit
 * scheduling on PUT (Sabre 2's schedule plugin does), so a server-side second invitation cannot
 * happen here, only the marking that prevents it on such servers is visible.
 *
 * Needs php-cli, php-sqlite3 and php-sabre-dav: without them the tests fail saying so.
 */
import assert from "node:assert/strict";
import { type SabreDavServer, startSabreDav } from "../../harness/_sabredav.ts";
import { DavAuthError, DavClient } from "../../../src/bridge/dav/dav_client.ts";
import { DavBackend } from "../../../src/bridge/dav/dav_backend.ts";
import {
  ALICE,
  aliceLookup,
  BOB,
  BOB_MERGED,
  calendarRoundTrip,
  END,
  EVENT,
  fetchOne,
  folderLifecycle,
  putBobsDay,
  RecordingClient,
  START,
} from "./_crosscheck_scenarios.ts";
import { davStateProbe } from "../../../src/bridge/dav/dav_probe.ts";
import { Store } from "../../../src/store/mod.ts";
import { FOLDER_TYPE } from "../../../src/eas/protocol/folder_types.ts";
import type { Appointment } from "../../../src/eas/model/calendar.ts";
import type { Contact } from "../../../src/eas/model/contacts.ts";

const DESK = (summary: string) =>
  EVENT("desk-1", [
    "DTSTART:20300318T090000Z",
    "DTEND:20300318T100000Z",
    `SUMMARY:${summary}`,
    "X-DESKTOP:keep",
  ]);

interface Fixture {
  server: SabreDavServer;
  store: Store;
  client: RecordingClient;
  backend: DavBackend;
  /** A plain client logged in as bob, for what a desktop client of bob's does. */
  bob: DavClient;
}

async function withSabreDav(run: (f: Fixture) => Promise<void>): Promise<void> {
  const server = await startSabreDav([ALICE, BOB]);
  const store = Store.open(":memory:");
  try {
    const url = new URL(server.url);
    const client = new RecordingClient({ url, credentials: { user: ALICE.name, password: ALICE.password } });
    const bob = new DavClient({ url, credentials: { user: BOB.name, password: BOB.password } });
    const backend = new DavBackend({
      client,
      state: store.davState,
      user: ALICE.name,
      selfEmails: () => Promise.resolve([ALICE.email]),
    });
    await run({ server, store, client, backend, bob });
  } finally {
    store.close();
    await server.stop();
  }
}

/** The href of the one event in a calendar (a Depth 1 PROPFIND). */
async function onlyEvent(client: DavClient, calendar: string): Promise<string> {
  const hrefs = (await client.propfind(calendar, [["DAV:", "getetag"]], 1)).map((r) => r.href)
    .filter((h) => h.endsWith(".ics"));
  assert.equal(hrefs.length, 1, hrefs.join(" "));
  return hrefs[0]!;
}

const OPTIONS = { bodyPreferences: [], filterType: 0 };

Deno.test("DavClient discovers the SabreDAV principal, home sets and schedule outbox; a wrong password is refused", async () => {
  await withSabreDav(async ({ server }) => {
    const client = new DavClient({
      url: new URL(server.url),
      credentials: { user: ALICE.name, password: ALICE.password },
    });
    assert.deepEqual(await client.discover(), {
      principal: "/principals/alice/",
      calendarHomes: ["/calendars/alice/"],
      addressbookHomes: ["/addressbooks/alice/"],
      scheduleOutbox: "/calendars/alice/outbox",
    });
    const stranger = new DavClient({
      url: new URL(server.url),
      credentials: { user: ALICE.name, password: "wrong" },
    });
    await assert.rejects(() => stranger.discover(), DavAuthError);
  });
});

Deno.test("DavBackend lists the SabreDAV calendar as Calendar and Tasks, and its address book", async () => {
  await withSabreDav(async ({ server, backend }) => {
    const folders = await backend.listFolders();
    assert.deepEqual(
      folders.map((f) => [f.key, f.type, f.displayName]).sort((a, b) =>
        String(a[0]).localeCompare(String(b[0]))
      ),
      [
        [`dav:${server.addressbook(ALICE.name)}#VCARD`, FOLDER_TYPE.Contacts, "Contacts"],
        [`dav:${server.calendar(ALICE.name)}#VEVENT`, FOLDER_TYPE.Calendar, "Calendar"],
        [`dav:${server.calendar(ALICE.name)}#VTODO`, FOLDER_TYPE.Tasks, "Calendar"],
      ],
    );
  });
});

Deno.test("DavBackend syncs a SabreDAV calendar through its ETag listing (no sync-token) and writes with ETags", async () => {
  await withSabreDav(async ({ server, client, backend }) => {
    const calendar = server.calendar(ALICE.name);
    await calendarRoundTrip({
      client,
      source: backend.syncSource(`dav:${calendar}#VEVENT`, OPTIONS),
      href: `${calendar}desk.ics`,
      desk: DESK,
      // Sabre 1.8 has no sync-collection: the bridge lists ETags.
      afterDesktopAdd: (calls) =>
        assert.ok(!calls.some((c) => c.startsWith("REPORT sync-collection")), calls.join("\n")),
    });
  });
});

Deno.test("DavBackend syncs a SabreDAV address book", async () => {
  await withSabreDav(async ({ server, client, backend }) => {
    const book = server.addressbook(ALICE.name);
    const contacts = backend.syncSource(`dav:${book}#VCARD`, OPTIONS);
    assert.deepEqual((await contacts.scan(undefined, undefined)).items, []);
    await client.put(
      `${book}carol.vcf`,
      "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carol-1\r\nFN:Carol Desk\r\nN:Desk;Carol;;;\r\n" +
        "EMAIL;TYPE=INTERNET:carol@example.test\r\nX-DESKTOP:keep\r\nEND:VCARD\r\n",
      "text/vcard",
      "",
    );
    const scan = await contacts.scan(undefined, undefined);
    assert.equal(scan.items.length, 1);
    const carolId = scan.items[0]!.id;
    const carol = await fetchOne(contacts, carolId) as Contact;
    assert.equal(carol.email1Address, "carol@example.test");
    const phone = await contacts.add({
      firstName: "Dan",
      lastName: "Phone",
      email1Address: "dan@example.test",
    });
    assert.equal((await fetchOne(contacts, phone.id) as Contact).email1Address, "dan@example.test");
    assert.ok(await contacts.change(carolId, { ...carol, email1Address: "carol@phone.example" }));
    const stored = await client.get(`${book}carol.vcf`);
    assert.match(stored!.data, /carol@phone\.example/);
    assert.match(stored!.data, /X-DESKTOP:keep/);
    assert.deepEqual(
      (await contacts.scan(undefined, undefined)).items.map((i) => i.id).sort(),
      [carolId, phone.id].sort(),
    );
  });
});

Deno.test("A meeting the phone creates on SabreDAV is stored client-scheduled: no outbox POST, nothing for bob", async () => {
  await withSabreDav(async ({ server, client, backend, bob }) => {
    const calendar = server.calendar(ALICE.name);
    const source = backend.syncSource(`dav:${calendar}#VEVENT`, OPTIONS);
    await source.scan(undefined, undefined);
    client.calls.length = 0;
    const meeting: Appointment = {
      subject: "Planning",
      startTime: "20300325T130000Z",
      endTime: "20300325T140000Z",
      meetingStatus: 1,
      organizerEmail: ALICE.email,
      organizerName: "Alice",
      attendees: [{ email: BOB.email, name: "Bob", attendeeType: 1 }],
    };
    const added = await source.add(meeting);
    // The outbox was discovered, and the bridge itself schedules nothing through it (RFC 6638 5:
    // a POST to the outbox is how a client asks the server to deliver iTIP messages).
    assert.ok(!client.calls.some((c) => c.startsWith("POST")), client.calls.join("\n"));
    const stored = await client.get(await onlyEvent(client, calendar));
    const data = stored!.data.replace(/\r?\n[ \t]/g, "");
    // RFC 6638 7.1: SCHEDULE-AGENT=CLIENT on the organizer and every attendee, so a scheduling
    // server (Sabre 2+, Nextcloud, Baikal) does not mail bob a second invitation.
    assert.match(data, /^ORGANIZER[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:alice@example\.test/mi);
    assert.match(data, /^ATTENDEE[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:bob@example\.test/mi);
    // The marking does not leak back to the phone: the meeting reads as it was written.
    const back = await fetchOne(source, added.id) as Appointment;
    assert.equal(back.organizerEmail, ALICE.email);
    assert.deepEqual(back.attendees?.map((a) => a.email), [BOB.email]);
    // Bob's calendar got nothing from the server.
    const bobs = await bob.propfind(server.calendar(BOB.name), [["DAV:", "getetag"]], 1);
    assert.deepEqual(bobs.filter((r) => r.href.endsWith(".ics")), []);
  });
});

Deno.test("An invitation placed in the SabreDAV calendar is stored client-scheduled", async () => {
  await withSabreDav(async ({ server, client, backend }) => {
    const invitation = EVENT("invite-1", [
      "DTSTART:20300326T090000Z",
      "DTEND:20300326T100000Z",
      "SUMMARY:Bob's review",
      "SEQUENCE:0",
      "ORGANIZER;CN=Bob:mailto:bob@example.test",
      "ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:alice@example.test",
    ]).replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST");
    assert.equal(await backend.placeInvitation(invitation, [ALICE.email]), "placed");
    const calendar = server.calendar(ALICE.name);
    const data = (await client.get(await onlyEvent(client, calendar)))!.data.replace(/\r?\n[ \t]/g, "");
    assert.doesNotMatch(data, /^METHOD:/m);
    assert.match(data, /^ORGANIZER[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:bob@example\.test/mi);
    assert.match(data, /^ATTENDEE[^\r\n]*SCHEDULE-AGENT=CLIENT[^\r\n]*:mailto:alice@example\.test/mi);
    assert.ok(!client.calls.some((c) => c.startsWith("POST")), client.calls.join("\n"));
  });
});

Deno.test("DavAvailability asks SabreDAV's schedule outbox for a colleague's busy time (VFREEBUSY POST)", async () => {
  await withSabreDav(async ({ server, client, bob }) => {
    await putBobsDay(bob, server.calendar(BOB.name));
    const lookup = aliceLookup(client, [ALICE.email]);
    client.calls.length = 0;
    assert.deepEqual(await lookup.freeBusy(BOB.email, START, END), { merged: BOB_MERGED });
    // Answered by the outbox alone: no report on bob's calendar, no principal search.
    assert.deepEqual(client.calls.filter((c) => !c.startsWith("PROPFIND")), [
      `POST ${server.outbox(ALICE.name)}`,
    ]);

    // An address no principal has: Sabre answers request-status 3.7 and the bridge's other ways
    // (principal-property-search, a sibling principal) find nothing either.
    assert.deepEqual(
      await lookup.freeBusy("nobody@example.test", START, END),
      { failure: "unreadable" },
    );
  });
});

Deno.test("The outbox request names the user as the SabreDAV principal knows them (calendar-user-address-set)", async () => {
  await withSabreDav(async ({ server, client, bob }) => {
    await putBobsDay(bob, server.calendar(BOB.name));
    // The user's first address is one the server does not know: Sabre refuses an ORGANIZER outside
    // the principal's calendar-user-address-set (403), so the bridge takes the one it knows.
    const lookup = aliceLookup(client, ["alice@old.example", ALICE.email]);
    client.calls.length = 0;
    assert.deepEqual(await lookup.freeBusy(BOB.email, START, END), { merged: BOB_MERGED });
    assert.deepEqual(await lookup.freeBusy(BOB.email, START, END), { merged: BOB_MERGED });
    // No fallback to reading bob's calendars: no REPORT at all.
    assert.deepEqual(client.calls.filter((c) => c.startsWith("REPORT")), []);
    assert.deepEqual(client.calls.filter((c) => c.startsWith("POST")), [
      `POST ${server.outbox(ALICE.name)}`,
      `POST ${server.outbox(ALICE.name)}`,
    ]);
    // The principal's address set is read once per lookup object, not per recipient.
    assert.equal(client.calls.filter((c) => c === `PROPFIND ${server.principal(ALICE.name)}`).length, 2);
  });
});

Deno.test("Without the outbox, a SabreDAV home alice may not list makes bob's time unreadable, not free", async () => {
  await withSabreDav(async ({ server, client, bob }) => {
    await putBobsDay(bob, server.calendar(BOB.name));
    // As on a server that names no schedule-outbox-URL: the bridge finds bob's principal beside
    // alice's, whose calendar home Sabre lists with 403 propstats only (no DAV:read for alice).
    const lookup = aliceLookup(client, [ALICE.email], async () => {
      const { scheduleOutbox: _, ...homes } = await client.discover();
      return homes;
    });
    client.calls.length = 0;
    assert.deepEqual(await lookup.freeBusy(BOB.email, START, END), { failure: "unreadable" });
    assert.ok(client.calls.includes(`PROPFIND /calendars/${BOB.name}/`), client.calls.join("\n"));
    assert.ok(!client.calls.some((c) => c.startsWith("POST")), client.calls.join("\n"));
  });
});

Deno.test("davStateProbe() on SabreDAV reads the ctag (no sync-token) and sees a desktop change", async () => {
  await withSabreDav(async ({ server, client, backend }) => {
    const calendar = server.calendar(ALICE.name);
    const key = `dav:${calendar}#VEVENT`;
    const probe = davStateProbe({ url: new URL(server.url), shareMs: 0 });
    const credentials = { user: ALICE.name, password: ALICE.password };
    const before = await probe(credentials, key);
    assert.match(before, /^\|\d+$/, "only the ctag: Sabre 1.8 names no sync-token");
    // The token is the folder's Sync cursor, so a Sync marks what it delivered as seen.
    assert.equal(await backend.syncSource(key, OPTIONS).cursor(), before);
    await client.put(`${calendar}desk.ics`, DESK("Desk meeting"), "text/calendar", "");
    const after = await probe(credentials, key);
    assert.notEqual(after, before);
    await assert.rejects(probe({ ...credentials, password: "wrong" }, key));
  });
});

Deno.test("DavBackend creates, renames and deletes calendars and address books on SabreDAV", async () => {
  await withSabreDav(async ({ backend }) => {
    // Sabre keeps the supported-calendar-component-set of MKCALENDAR: one folder per collection.
    await folderLifecycle(backend, (_type, key) => [key]);
  });
});
