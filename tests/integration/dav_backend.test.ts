import assert from "node:assert/strict";
import { startMailstore } from "../harness/mod.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { DavBackend } from "../../src/bridge/dav/dav_backend.ts";
import { Store } from "../../src/store/mod.ts";
import { FOLDER_TYPE } from "../../src/eas/protocol/folder_types.ts";
import { EasStatusError } from "../../src/eas/protocol/errors.ts";
import { MailFolderError } from "../../src/backend/mail_operations.ts";
import type { Appointment } from "../../src/eas/model/calendar.ts";
import type { Contact } from "../../src/eas/model/contacts.ts";

const EVENT = (uid: string, summary: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//desk//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260301T000000Z\r\n` +
  `DTSTART:20300318T090000Z\r\nDTEND:20300318T100000Z\r\nSUMMARY:${summary}\r\nX-DESKTOP:keep\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

Deno.test("DavBackend lists, syncs, writes with ETags and manages folders on Radicale", async () => {
  const mailstore = await startMailstore({ dav: true });
  const store = Store.open(":memory:");
  try {
    const url = new URL(mailstore.davUrl!);
    const credentials = { user: "alice", password: "alice-secret" };
    const client = new DavClient({ url, credentials });
    // Radicale creates nothing by itself: a calendar with events and tasks, and an address book.
    await client.mutate(
      "MKCALENDAR",
      "/alice/work/",
      '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Work</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
    );
    await client.mutate(
      "MKCOL",
      "/alice/contacts/",
      '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>People</d:displayname></d:prop></d:set></d:mkcol>',
    );
    const backend = new DavBackend({
      client,
      state: store.davState,
      user: "alice",
      selfEmails: () => Promise.resolve(["alice@example.com"]),
    });
    const folders = await backend.listFolders();
    assert.deepEqual(
      folders.map((f) => [f.key, f.displayName, f.type]).sort(),
      [
        ["dav:/alice/contacts/#VCARD", "People", FOLDER_TYPE.Contacts],
        ["dav:/alice/work/#VEVENT", "Work", FOLDER_TYPE.Calendar],
        ["dav:/alice/work/#VTODO", "Work", FOLDER_TYPE.Tasks],
      ],
    );

    // A desktop client's event appears; a malformed item does not stop the folder.
    await client.put("/alice/work/desk.ics", EVENT("desk-1", "Desk meeting"), "text/calendar", "");
    const source = backend.syncSource("dav:/alice/work/#VEVENT", { bodyPreferences: [], filterType: 0 });
    let scan = await source.scan(undefined, undefined);
    assert.equal(scan.items.length, 1);
    const [first] = scan.items;
    const fetched = [];
    for await (const got of source.fetch([first!.id], "add")) fetched.push(got);
    assert.equal(fetched.length, 1);
    const app = ("item" in fetched[0]! ? fetched[0].item : undefined) as Appointment;
    assert.equal(app.subject, "Desk meeting");
    assert.equal(app.startTime, "20300318T090000Z");

    // The phone adds one; a sync-collection scan then reports both with stable ids.
    const added = await source.add({
      subject: "From phone",
      startTime: "20300320T080000Z",
      endTime: "20300320T090000Z",
      reminder: 10,
    });
    scan = await source.scan(undefined, undefined);
    assert.deepEqual(scan.items.map((i) => i.id).sort(), [first!.id, added.id].sort());
    assert.equal(scan.items.find((i) => i.id === added.id)!.token, added.token);

    // The phone changes the desktop event: other properties survive.
    const changed = await source.change(first!.id, { ...app, subject: "Renamed on phone" });
    assert.ok(changed);
    const stored = await client.get("/alice/work/desk.ics");
    assert.match(stored!.data, /SUMMARY:Renamed on phone/);
    assert.match(stored!.data, /X-DESKTOP:keep/);

    // A concurrent desktop edit: the phone's delete with the old ETag is a conflict, nothing is lost.
    await client.put("/alice/work/desk.ics", EVENT("desk-1", "Desk again"), "text/calendar", stored!.etag);
    await assert.rejects(
      () => source.remove(first!.id),
      (e) => e instanceof EasStatusError && e.status === 7,
    );
    assert.ok(await client.get("/alice/work/desk.ics"));

    // Contacts: add, read back.
    const contacts = backend.syncSource("dav:/alice/contacts/#VCARD", { bodyPreferences: [], filterType: 0 });
    const contact = await contacts.add({
      firstName: "Bob",
      lastName: "Builder",
      email1Address: "bob@example.com",
    });
    const back = [];
    for await (const got of contacts.fetch([contact.id], "add")) back.push(got);
    assert.deepEqual(
      "item" in back[0]! ? (back[0].item as Contact).email1Address : undefined,
      "bob@example.com",
    );

    // Folder operations: create, rename, delete.
    const key = await backend.createFolder(FOLDER_TYPE.UserCalendar, "Holidays");
    await backend.renameFolder(key, "Vacations");
    assert.ok((await backend.listFolders()).some((f) => f.key === key && f.displayName === "Vacations"));
    assert.deepEqual(await backend.deleteFolder(key), [key]);
    assert.ok(!(await backend.listFolders()).some((f) => f.key === key));
  } finally {
    store.close();
    await mailstore.stop();
  }
});

Deno.test("DavBackend.moveItem() moves between calendars, renames on a taken name, and moves nothing when the desktop edits meanwhile", async () => {
  const mailstore = await startMailstore({ dav: true, postfix: false, sieve: false });
  const store = Store.open(":memory:");
  try {
    const url = new URL(mailstore.davUrl!);
    const credentials = { user: "alice", password: "alice-secret" };
    const desktop = new DavClient({ url, credentials });
    /** The box's client; once armed, the desktop edits the resource just before the box's DELETE reaches it. */
    class RacingClient extends DavClient {
      armed = false;
      override async delete(href: string, etag = ""): Promise<boolean> {
        if (this.armed) {
          this.armed = false;
          const current = await desktop.get(href);
          await desktop.put(href, EVENT("a-1", "Edited on the desktop"), "text/calendar", current!.etag);
        }
        return await super.delete(href, etag);
      }
    }
    const client = new RacingClient({ url, credentials });
    const calendar = (href: string) =>
      desktop.mutate(
        "MKCALENDAR",
        href,
        '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
      );
    await calendar("/alice/a/");
    await calendar("/alice/b/");
    await desktop.mutate(
      "MKCOL",
      "/alice/book/",
      '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>',
    );
    await desktop.put("/alice/a/a.ics", EVENT("a-1", "Planning"), "text/calendar", "");
    await desktop.put("/alice/a/x.ics", EVENT("x-1", "Taken name"), "text/calendar", "");
    await desktop.put("/alice/b/x.ics", EVENT("x-2", "Already in b"), "text/calendar", "");
    const backend = new DavBackend({
      client,
      state: store.davState,
      user: "alice",
      selfEmails: () => Promise.resolve(["alice@example.com"]),
    });
    const [aKey, bKey] = ["dav:/alice/a/#VEVENT", "dav:/alice/b/#VEVENT"];
    const options = { bodyPreferences: [], filterType: 0 };
    await backend.syncSource(aKey, options).scan(undefined, undefined);
    await backend.syncSource(bKey, options).scan(undefined, undefined);
    const idOf = (href: string) => store.davState.items("alice", aKey).find((i) => i.href === href)!.id;
    const listing = async (href: string) =>
      (await desktop.propfind(href, [["DAV:", "getetag"]], 1)).map((r) => r.href).filter((h) =>
        !h.endsWith("/")
      )
        .sort();

    // The desktop edits the event between the box's copy and its delete: nothing moves, nothing is lost.
    client.armed = true;
    await assert.rejects(
      backend.moveItem(aKey, idOf("/alice/a/a.ics"), bKey),
      (e) => e instanceof MailFolderError && e.failure === "refused",
    );
    assert.match((await desktop.get("/alice/a/a.ics"))!.data, /SUMMARY:Edited on the desktop/);
    assert.deepEqual(await listing("/alice/b/"), ["/alice/b/x.ics"], "the copy was removed again");

    // Without the race it moves under its name, with its UID, and the id maps to the new href.
    await backend.syncSource(aKey, options).scan(undefined, undefined);
    const moved = await backend.moveItem(aKey, idOf("/alice/a/a.ics"), bKey);
    assert.equal(store.davState.item("alice", bKey, moved)!.href, "/alice/b/a.ics");
    assert.match((await desktop.get("/alice/b/a.ics"))!.data, /UID:a-1[^]*SUMMARY:Edited on the desktop/);
    assert.deepEqual(await listing("/alice/a/"), ["/alice/a/x.ics"]);

    // A name taken in the destination: the item arrives under a new name; the other resource is untouched.
    const renamed = await backend.moveItem(aKey, idOf("/alice/a/x.ics"), bKey);
    const href = store.davState.item("alice", bKey, renamed)!.href;
    assert.notEqual(href, "/alice/b/x.ics");
    assert.match((await desktop.get(href))!.data, /UID:x-1/);
    assert.match((await desktop.get("/alice/b/x.ics"))!.data, /UID:x-2/);

    // Unknown items and other kinds of folders are refused by name.
    await assert.rejects(
      backend.moveItem(aKey, "999999", bKey),
      (e) => e instanceof MailFolderError && e.failure === "not-found",
    );
    await assert.rejects(
      backend.moveItem(bKey, moved, "dav:/alice/book/#VCARD"),
      (e) => e instanceof MailFolderError && e.failure === "parent-not-found",
    );
  } finally {
    store.close();
    await mailstore.stop();
  }
});
