/**
 * The DAV bridge against Xandikos, the cross-check of tests/integration/dav_backend.test.ts (which
 * runs against Radicale). Differences from Radicale that these tests pin down:
 * - Xandikos has no authentication: the bridge's Basic credentials are ignored, every request is
 *   the one principal (`--current-user-principal`).
 * - `--defaults` makes a calendar and an address book, so nothing is created first; the calendar
 *   offers VEVENT, VTODO and VJOURNAL, so it shows as a Calendar, a Tasks and a Notes folder.
 * - No schedule-outbox-URL (no RFC 6638 scheduling): meetings are written as they are.
 * - Sync tokens and ctags are git commit ids; sync-collection reports deletions as 404 responses.
 *   An unknown token gets 500, not 403 valid-sync-token; the bridge falls back to the ETag listing.
 * - MKCALENDAR ignores supported-calendar-component-set: a calendar made by FolderCreate also
 *   lists as a Tasks and a Notes folder.
 */
import assert from "node:assert/strict";
import { startXandikos, type XandikosServer } from "../../harness/_xandikos.ts";
import { DavClient, DavServerError } from "../../../src/bridge/dav/dav_client.ts";
import { DavBackend } from "../../../src/bridge/dav/dav_backend.ts";
import {
  calendarRoundTrip,
  fetchOne,
  folderLifecycle,
  isConflict,
  RecordingClient,
} from "./_crosscheck_scenarios.ts";
import { Store } from "../../../src/store/mod.ts";
import { FOLDER_TYPE } from "../../../src/eas/protocol/folder_types.ts";
import type { Contact } from "../../../src/eas/model/contacts.ts";

const ALICE = { name: "alice", password: "alice-secret", email: "alice@example.com" };

const EVENT = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//desk//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260301T000000Z\r\n` +
  `DTSTART:20300318T090000Z\r\nDTEND:20300318T100000Z\r\nSUMMARY:${summary}\r\nX-DESKTOP:keep\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

const CARD = (uid: string, name: string, email: string) =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nN:${
    name.split(" ").reverse().join(";")
  };;;\r\n` +
  `EMAIL;TYPE=INTERNET:${email}\r\nX-DESKTOP:keep\r\nEND:VCARD\r\n`;

interface Fixture {
  server: XandikosServer;
  store: Store;
  client: RecordingClient;
  backend: DavBackend;
}

async function withXandikos(run: (f: Fixture) => Promise<void>): Promise<void> {
  const server = await startXandikos({ users: [ALICE] });
  const store = Store.open(":memory:");
  try {
    const client = new RecordingClient({
      url: new URL(server.url),
      credentials: { user: ALICE.name, password: ALICE.password },
    });
    const backend = new DavBackend({
      client,
      state: store.davState,
      user: ALICE.name,
      selfEmails: () => Promise.resolve([ALICE.email]),
    });
    await run({ server, store, client, backend });
  } finally {
    store.close();
    await server.stop();
  }
}

Deno.test("DavClient discovers the Xandikos principal and home sets, ignoring the credentials", async () => {
  await withXandikos(async ({ server, client }) => {
    const homes = await client.discover();
    assert.deepEqual(homes, {
      principal: "/alice/",
      calendarHomes: ["/alice/calendars/"],
      addressbookHomes: ["/alice/contacts/"],
    });
    // No authentication at all: a wrong password reaches the same principal (Radicale answers 401).
    const stranger = new DavClient({
      url: new URL(server.url),
      credentials: { user: "alice", password: "wrong" },
    });
    assert.equal((await stranger.discover()).principal, "/alice/");
  });
});

Deno.test("DavBackend lists the Xandikos default calendar as Calendar, Tasks and Notes, and its address book", async () => {
  await withXandikos(async ({ server, backend }) => {
    const folders = await backend.listFolders();
    assert.deepEqual(
      folders.map((f) => [f.key, f.type]).sort(),
      [
        [`dav:${server.calendar}#VEVENT`, FOLDER_TYPE.Calendar],
        [`dav:${server.calendar}#VJOURNAL`, FOLDER_TYPE.Notes],
        [`dav:${server.calendar}#VTODO`, FOLDER_TYPE.Tasks],
        [`dav:${server.addressbook}#VCARD`, FOLDER_TYPE.Contacts],
      ],
    );
    // Xandikos names the --defaults collections after their directory.
    assert.deepEqual(new Set(folders.map((f) => f.displayName)), new Set(["calendar", "addressbook"]));
  });
});

Deno.test("DavBackend syncs a Xandikos calendar through sync-collection and writes with ETags", async () => {
  await withXandikos(async ({ server, client, backend }) => {
    // The initial scan of the empty calendar is a PROPFIND listing (no stored token yet); a desktop
    // client's event is then found through sync-collection with the stored token, and a desktop
    // delete reaches the bridge as a 404 response of sync-collection.
    await calendarRoundTrip({
      client,
      source: backend.syncSource(`dav:${server.calendar}#VEVENT`, { bodyPreferences: [], filterType: 0 }),
      href: `${server.calendar}desk.ics`,
      desk: (summary) => EVENT("desk-1", summary),
      afterDesktopAdd: (calls) =>
        assert.ok(calls.includes(`REPORT sync-collection ${server.calendar}`), calls.join("\n")),
      afterDesktopDelete: (calls) => assert.ok(calls.includes(`REPORT sync-collection ${server.calendar}`)),
    });
  });
});

Deno.test("DavBackend syncs a Xandikos address book and refuses a stale contact write", async () => {
  await withXandikos(async ({ server, client, backend }) => {
    const contacts = backend.syncSource(`dav:${server.addressbook}#VCARD`, {
      bodyPreferences: [],
      filterType: 0,
    });
    assert.deepEqual((await contacts.scan(undefined, undefined)).items, []);

    const href = `${server.addressbook}carol.vcf`;
    await client.put(href, CARD("carol-1", "Carol Desk", "carol@example.com"), "text/vcard", "");
    client.calls.length = 0;
    let scan = await contacts.scan(undefined, undefined);
    assert.ok(client.calls.includes(`REPORT sync-collection ${server.addressbook}`), client.calls.join("\n"));
    assert.equal(scan.items.length, 1);
    const carolId = scan.items[0]!.id;
    const carol = await fetchOne(contacts, carolId) as Contact;
    assert.equal(carol.email1Address, "carol@example.com");

    // Desktop change, seen through sync-collection.
    const v1 = await client.get(href);
    await client.put(href, CARD("carol-1", "Carol Desk", "carol@desk.example"), "text/vcard", v1!.etag);
    scan = await contacts.scan(undefined, undefined);
    assert.equal(scan.items[0]!.id, carolId);
    assert.equal((await fetchOne(contacts, carolId) as Contact).email1Address, "carol@desk.example");

    // The phone adds and changes; unknown desktop properties survive the change.
    const bob = await contacts.add({
      firstName: "Bob",
      lastName: "Builder",
      email1Address: "bob@example.com",
    });
    assert.equal((await fetchOne(contacts, bob.id) as Contact).email1Address, "bob@example.com");
    const renamed = await contacts.change(carolId, { ...carol, email1Address: "carol@phone.example" });
    assert.ok(renamed);
    const v2 = await client.get(href);
    assert.match(v2!.data, /carol@phone\.example/);
    assert.match(v2!.data, /X-DESKTOP:keep/);

    // A desktop edit after the phone's: the phone's delete with its ETag is a conflict.
    await client.put(href, CARD("carol-1", "Carol Again", "carol@again.example"), "text/vcard", v2!.etag);
    await assert.rejects(() => contacts.remove(carolId), isConflict);
    scan = await contacts.scan(undefined, undefined);
    assert.deepEqual(scan.items.map((i) => i.id).sort(), [carolId, bob.id].sort());
  });
});

const SYNC_REPORT = (token: string) =>
  `<?xml version="1.0" encoding="utf-8"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;

Deno.test("DavBackend falls back to a full listing when Xandikos answers 500 to an unknown sync token", async () => {
  await withXandikos(async ({ server, store, client, backend }) => {
    // Radicale refuses an unknown token with 403 valid-sync-token (RFC 6578 3.2); Xandikos 0.2.8,
    // whose tokens are git commit ids, fails with 500 (the commit is not in the repository).
    await assert.rejects(
      () => client.report(server.calendar, SYNC_REPORT("0".repeat(40))),
      (e) => e instanceof DavServerError && e.status === 500,
    );

    const key = `dav:${server.calendar}#VEVENT`;
    const source = backend.syncSource(key, { bodyPreferences: [], filterType: 0 });
    await client.put(`${server.calendar}a.ics`, EVENT("a-1", "Before"), "text/calendar", "");
    const first = await source.scan(undefined, undefined);
    assert.equal(first.items.length, 1);
    // The stored token names a commit Xandikos does not have (as after the collection was recreated
    // or restored from a backup); the next scan still sees the new event through the ETag listing.
    store.davState.apply(ALICE.name, key, {
      upserts: [],
      removedHrefs: [],
      cursor: { syncToken: "f".repeat(40), ctag: "" },
    });
    await client.put(`${server.calendar}b.ics`, EVENT("b-1", "After"), "text/calendar", "");
    client.calls.length = 0;
    const next = await source.scan(undefined, undefined);
    assert.ok(client.calls.includes(`REPORT sync-collection ${server.calendar}`), client.calls.join("\n"));
    assert.ok(client.calls.includes(`PROPFIND ${server.calendar}`), client.calls.join("\n"));
    assert.equal(next.items.length, 2);
    assert.ok(next.items.some((i) => i.id === first.items[0]!.id));
  });
});

Deno.test("DavBackend creates, renames and deletes calendars and address books on Xandikos", async () => {
  await withXandikos(async ({ backend }) => {
    // Xandikos ignores supported-calendar-component-set in MKCALENDAR (Radicale keeps it): the new
    // calendar offers VEVENT, VTODO and VJOURNAL, so it also lists as a Tasks and a Notes folder,
    // and deleting it removes all three.
    await folderLifecycle(
      backend,
      (type, key, href) =>
        type === FOLDER_TYPE.UserCalendar
          ? ["VEVENT", "VTODO", "VJOURNAL"].map((c) => `dav:${href}#${c}`)
          : [key],
    );
  });
});

Deno.test("DavBackend keeps tasks of the shared Xandikos calendar apart from its events", async () => {
  await withXandikos(async ({ server, backend }) => {
    const tasks = backend.syncSource(`dav:${server.calendar}#VTODO`, { bodyPreferences: [], filterType: 0 });
    const events = backend.syncSource(`dav:${server.calendar}#VEVENT`, {
      bodyPreferences: [],
      filterType: 0,
    });
    const task = await tasks.add({ subject: "Water plants", complete: 0 });
    await events.add({ subject: "Lunch", startTime: "20300320T120000Z", endTime: "20300320T130000Z" });
    assert.deepEqual((await tasks.scan(undefined, undefined)).items.map((i) => i.id), [task.id]);
    assert.equal((await events.scan(undefined, undefined)).items.length, 1);
    assert.equal((await fetchOne(tasks, task.id) as { subject?: string }).subject, "Water plants");
  });
});
