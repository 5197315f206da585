/**
 * DAV items against Radicale beyond plain sync: a contact photo above the
 * phone's limit, resources renamed or moved between collections on the
 * desktop, and MoveItems between calendars from the phone.
 */
import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { DavClient } from "../../src/bridge/dav/dav_client.ts";
import { decodeImage, encodeJpeg } from "../../src/image/resize_photo.ts";
import { CONTACT_PICTURE_MAX_BYTES } from "../../src/image/limits.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { data, initialSync, listing, syncOnce } from "./dav_fixture.ts";
import { startBox } from "./fixture.ts";

const AS = "AirSync";
const FH = "FolderHierarchy";
const CAL = "Calendar";
const C = "Contacts";
const MOVE = "Move";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");

const event = (uid: string, summary: string) =>
  crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VEVENT
UID:${uid}
DTSTAMP:20300101T000000Z
DTSTART:20300318T090000Z
DTEND:20300318T100000Z
SUMMARY:${summary}
END:VEVENT
END:VCALENDAR
`);

/** A 1600x1200 camera-like JPEG (gradient with grain), far above the contact Picture limit. */
function cameraJpeg(): Uint8Array {
  const width = 1600, height = 1200;
  const pixels = new Uint8Array(width * height * 4);
  let seed = 5;
  for (let i = 0; i < pixels.length; i += 4) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const x = (i / 4) % width, y = Math.floor(i / 4 / width);
    pixels[i] = (x * 255) / width;
    pixels[i + 1] = (y * 255) / height;
    pixels[i + 2] = 100 + (seed & 0x3f);
    pixels[i + 3] = 255;
  }
  return encodeJpeg({ width, height, data: pixels }, 95);
}

/** A MoveItems request with one Move per [SrcMsgId, SrcFldId, DstFldId]. */
function moveItemsRequest(...moves: [string, string, string][]): WbxmlElement {
  return el(
    MOVE,
    "MoveItems",
    ...moves.map(([src, from, to]) =>
      el(
        MOVE,
        "Move",
        textEl(MOVE, "SrcMsgId", src),
        textEl(MOVE, "SrcFldId", from),
        textEl(MOVE, "DstFldId", to),
      )
    ),
  );
}

async function moveItems(client: EasClient, ...moves: [string, string, string][]) {
  const reply = await client.command("MoveItems", moveItemsRequest(...moves));
  const check = await validateWithXsd(reply.raw);
  assert.ok(check.valid, check.messages);
  return childrenNamed(reply.body, "Response", MOVE).map((r) => ({
    status: Number(childText(r, "Status", MOVE)),
    dstMsgId: childText(r, "DstMsgId", MOVE),
  }));
}

/** Adds and Deletes of a Sync reply, as "Add:<ServerId>" / "Delete:<ServerId>". */
const addsAndDeletes = (commands: WbxmlElement[]) =>
  commands.filter((c) => c.name !== "Change").map((c) => `${c.name}:${childText(c, "ServerId", AS)}`);

Deno.test("DAV items against Radicale: large contact photos, renamed and moved resources, MoveItems between calendars", async (t) => {
  const box = await startBox({ dav: true });
  try {
    const alice = box.mailstore.users[0]!;
    const dav = new DavClient({
      url: new URL(box.mailstore.davUrl!),
      credentials: { user: alice.name, password: alice.password },
    });
    const calendar = (href: string, name: string) =>
      dav.mutate(
        "MKCALENDAR",
        href,
        `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>${name}</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`,
      );
    const home = `/${alice.name}/calendar/`, work = `/${alice.name}/work/`, book = `/${alice.name}/contacts/`;
    await calendar(home, "Calendar");
    await calendar(work, "Work");
    await dav.mutate(
      "MKCOL",
      book,
      '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
    );
    await dav.put(`${home}rename.ics`, event("rename-1", "Renamed on the desktop"), "text/calendar", "");
    await dav.put(`${home}desk-move.ics`, event("desk-move-1", "Moved on the desktop"), "text/calendar", "");
    await dav.put(`${home}phone-move.ics`, event("phone-move-1", "Moved on the phone"), "text/calendar", "");
    const photo = cameraJpeg();
    assert.ok(photo.length > 5 * CONTACT_PICTURE_MAX_BYTES, `${photo.length} bytes`);
    const folded = photo.toBase64().replace(/(.{74})/g, "$1\r\n ");
    await dav.put(
      `${book}pia.vcf`,
      `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:pia-1\r\nFN:Pia Photo\r\nN:Photo;Pia;;;\r\nPHOTO;ENCODING=b;TYPE=JPEG:${folded}\r\nEND:VCARD\r\n`,
      "text/vcard",
      "",
    );

    const client = box.client();
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    const adds = childrenNamed(child(folders.body, "Changes", FH), "Add", FH);
    const folderId = (name: string) =>
      childText(adds.find((a) => childText(a, "DisplayName", FH) === name), "ServerId", FH)!;
    const homeId = folderId("Calendar"), workId = folderId("Work"), contactsId = folderId("Contacts");

    await t.step(
      "a vCard with a large PHOTO reaches the phone under the Picture limit and still decodes",
      async () => {
        const r = await initialSync(client, contactsId, "Contacts");
        assert.equal(r.commands.length, 1);
        const picture = childText(data(r.commands[0]!), "Picture", C)!;
        // MS-ASCNTC 2.2.2.58: at most 48 KB of base64.
        assert.ok(picture.length <= 48 * 1024, `${picture.length} base64 characters`);
        const bytes = Uint8Array.fromBase64(picture);
        assert.ok(bytes.length <= CONTACT_PICTURE_MAX_BYTES);
        const { image } = decodeImage(bytes);
        assert.ok(image.width > image.height && image.width <= 512, `${image.width}x${image.height}`);
        // The phone edits the contact and sends the picture it got back: the full-size photo stays on the server.
        const serverId = childText(r.commands[0]!, "ServerId", AS)!;
        const changed = await syncOnce(client, contactsId, r.syncKey, [
          el(
            AS,
            "Commands",
            el(
              AS,
              "Change",
              textEl(AS, "ServerId", serverId),
              el(
                AS,
                "ApplicationData",
                textEl(C, "FileAs", "Photo, Pia"),
                textEl(C, "FirstName", "Pia"),
                textEl(C, "JobTitle", "Photographer"),
                textEl(C, "LastName", "Photo"),
                textEl(C, "Picture", picture),
              ),
            ),
          ),
        ]);
        assert.equal(changed.status, 1);
        const stored = (await dav.get(`${book}pia.vcf`))!.data;
        assert.match(stored, /TITLE:Photographer/);
        const storedPhoto = /PHOTO[^:]*:([^]*?)\r\n(?! )/.exec(stored)![1]!.replace(/\r\n /g, "");
        assert.equal(storedPhoto, photo.toBase64());
      },
    );

    const homeSync = await initialSync(client, homeId, "Calendar");
    let homeKey = homeSync.syncKey;
    const ids = new Map(
      homeSync.commands.map((c) => [childText(data(c), "Subject", CAL)!, childText(c, "ServerId", AS)!]),
    );
    const workSync = await initialSync(client, workId, "Calendar");
    assert.equal(workSync.commands.length, 0);
    let workKey = workSync.syncKey;
    const move = (from: string, to: string) =>
      dav.request("MOVE", from, { headers: { destination: dav.url(to).href, overwrite: "F" } }).then(
        async (r) => {
          await r.body?.cancel();
          assert.ok(r.status === 201 || r.status === 204, `MOVE answered ${r.status}`);
        },
      );

    /** The desktop changes an event's SUMMARY; what the phone's next Sync of the folder shows: [command, ServerId, Subject]. */
    const editOnDesktop = async (href: string, uid: string, summary: string, folder: string, key: string) => {
      const current = await dav.get(href);
      await dav.put(href, event(uid, summary), "text/calendar", current!.etag);
      const r = await syncOnce(client, folder, key);
      return {
        syncKey: r.syncKey,
        seen: r.commands.map((
          c,
        ) => [c.name, childText(c, "ServerId", AS), childText(data(c), "Subject", CAL)]),
      };
    };

    await t.step("a resource renamed within its calendar keeps its ServerId: no Delete and Add", async () => {
      await move(`${home}rename.ics`, `${home}renamed.ics`);
      const r = await syncOnce(client, homeId, homeKey);
      homeKey = r.syncKey;
      assert.deepEqual(addsAndDeletes(r.commands), []);
      for (const c of r.commands) {
        assert.equal(childText(c, "ServerId", AS), ids.get("Renamed on the desktop"));
      }
      // Later desktop edits at the new name reach the phone's copy.
      const edited = await editOnDesktop(
        `${home}renamed.ics`,
        "rename-1",
        "Renamed then edited",
        homeId,
        homeKey,
      );
      homeKey = edited.syncKey;
      assert.deepEqual(edited.seen, [["Change", ids.get("Renamed on the desktop"), "Renamed then edited"]]);
    });

    await t.step("an event the desktop moves to another calendar ends as one copy on the phone", async () => {
      await move(`${home}desk-move.ics`, `${work}desk-move.ics`);
      // The destination first (the worst order: both copies for a moment), then the source.
      const inWork = await syncOnce(client, workId, workKey);
      workKey = inWork.syncKey;
      assert.deepEqual(inWork.commands.map((c) => [c.name, childText(data(c), "Subject", CAL)]), [
        ["Add", "Moved on the desktop"],
      ]);
      const inHome = await syncOnce(client, homeId, homeKey);
      homeKey = inHome.syncKey;
      assert.deepEqual(addsAndDeletes(inHome.commands), [`Delete:${ids.get("Moved on the desktop")}`]);
    });

    await t.step(
      "MoveItems moves an event to another calendar with its UID; no Sync repeats it",
      async () => {
        const source = ids.get("Moved on the phone")!;
        const [result] = await moveItems(client, [source, homeId, workId]);
        assert.equal(result!.status, 3);
        assert.match(result!.dstMsgId ?? "", new RegExp(`^${workId}:\\d+$`));
        assert.ok(!(await listing(dav, home)).includes(`${home}phone-move.ics`), "gone from the source");
        const moved = await dav.get(`${work}phone-move.ics`);
        assert.match(moved!.data, /UID:phone-move-1/);
        // The phone already has it under DstMsgId: neither calendar sends an Add or a Delete.
        const inWork = await syncOnce(client, workId, workKey);
        workKey = inWork.syncKey;
        assert.deepEqual(addsAndDeletes(inWork.commands), []);
        for (const c of inWork.commands) assert.equal(childText(c, "ServerId", AS), result!.dstMsgId);
        const inHome = await syncOnce(client, homeId, homeKey);
        homeKey = inHome.syncKey;
        assert.deepEqual(addsAndDeletes(inHome.commands), []);
        // A desktop edit afterwards reaches the phone's copy under its new id.
        const edited = await editOnDesktop(
          `${work}phone-move.ics`,
          "phone-move-1",
          "Moved then edited",
          workId,
          workKey,
        );
        workKey = edited.syncKey;
        assert.deepEqual(edited.seen, [["Change", result!.dstMsgId, "Moved then edited"]]);
        // The same item again (a replayed request): its old id is gone, Status 1.
        const [again] = await moveItems(client, [source, homeId, workId]);
        assert.equal(again!.status, 1);
      },
    );

    await t.step(
      "MoveItems refuses an event into a contacts folder and a contact into a calendar",
      async () => {
        const contacts = await initialSync(client, contactsId, "Contacts");
        const contact = childText(contacts.commands[0]!, "ServerId", AS)!;
        const results = await moveItems(
          client,
          [ids.get("Renamed on the desktop")!, homeId, contactsId],
          [contact, contactsId, homeId],
        );
        assert.deepEqual(results.map((r) => r.status), [2, 2]);
        assert.ok((await listing(dav, home)).includes(`${home}renamed.ics`), "nothing moved");
        assert.deepEqual(await listing(dav, book), [`${book}pia.vcf`]);
      },
    );
  } finally {
    await box.stop();
  }
});
