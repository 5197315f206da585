import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { DavClient, propKey } from "../../src/bridge/dav/dav_client.ts";
import { encodeTimezoneBlob, windowsFromIana } from "../../src/bridge/dav/timezone.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { data, initialSync, listing, plainOptions, syncOnce } from "./dav_fixture.ts";
import { type Box, startBox } from "./fixture.ts";
import { estimateRequest } from "../../tools/eas_client/requests.ts";

const AS = "AirSync";
const ASB = "AirSyncBase";
const FH = "FolderHierarchy";
const CAL = "Calendar";

const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");

/** A weekly Berlin-time meeting with one moved occurrence (RECURRENCE-ID override). */
const WEEKLY = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20300101T000000Z
DTSTART;TZID=Europe/Berlin:20300107T090000
DTEND;TZID=Europe/Berlin:20300107T093000
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=10
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:weekly-1
DTSTAMP:20300101T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20300114T090000
DTSTART;TZID=Europe/Berlin:20300114T110000
DTEND;TZID=Europe/Berlin:20300114T113000
SUMMARY:Standup moved
END:VEVENT
END:VCALENDAR
`);

const SINGLE = (summary: string) =>
  crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VEVENT
UID:single-1
DTSTAMP:20300101T000000Z
DTSTART:20300318T090000Z
DTEND:20300318T100000Z
SUMMARY:${summary}
X-DESKTOP:keep
END:VEVENT
END:VCALENDAR
`);

const CARD = crlf(`BEGIN:VCARD
VERSION:3.0
UID:card-1
FN:Carol Chen
N:Chen;Carol;;;
EMAIL;TYPE=INTERNET:carol@example.test
TEL;TYPE=CELL:+49 170 1234567
END:VCARD
`);

const JOURNAL = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VJOURNAL
UID:note-1
DTSTAMP:20300101T000000Z
SUMMARY:Door code
DESCRIPTION:4711 at the back door
END:VJOURNAL
END:VCALENDAR
`);

const DONE = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VTODO
UID:todo-2
DTSTAMP:20300101T000000Z
SUMMARY:Book the venue
STATUS:COMPLETED
COMPLETED:20300102T100000Z
END:VTODO
END:VCALENDAR
`);

const TODO = crlf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//desk//EN
BEGIN:VTODO
UID:todo-1
DTSTAMP:20300101T000000Z
SUMMARY:File the report
DUE:20300320T170000Z
END:VTODO
END:VCALENDAR
`);

async function prepareCollections(box: Box): Promise<DavClient> {
  const alice = box.mailstore.users[0]!;
  const dav = new DavClient({
    url: new URL(box.mailstore.davUrl!),
    credentials: { user: alice.name, password: alice.password },
  });
  const calendar = (href: string, name: string, component: string) =>
    dav.mutate(
      "MKCALENDAR",
      href,
      `<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>${name}</d:displayname><c:supported-calendar-component-set><c:comp name="${component}"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`,
    );
  await calendar(`/${alice.name}/calendar/`, "Calendar", "VEVENT");
  await calendar(`/${alice.name}/tasks/`, "Tasks", "VTODO");
  await calendar(`/${alice.name}/notes/`, "Notes", "VJOURNAL");
  await dav.mutate(
    "MKCOL",
    `/${alice.name}/contacts/`,
    '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav"><d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype><d:displayname>Contacts</d:displayname></d:prop></d:set></d:mkcol>',
  );
  await dav.put(`/${alice.name}/calendar/weekly.ics`, WEEKLY, "text/calendar", "");
  await dav.put(`/${alice.name}/calendar/single.ics`, SINGLE("Review"), "text/calendar", "");
  await dav.put(`/${alice.name}/contacts/carol.vcf`, CARD, "text/vcard", "");
  await dav.put(`/${alice.name}/tasks/todo.ics`, TODO, "text/calendar", "");
  await dav.put(`/${alice.name}/tasks/done.ics`, DONE, "text/calendar", "");
  await dav.put(`/${alice.name}/notes/door.ics`, JOURNAL, "text/calendar", "");
  return dav;
}

Deno.test("calendar, contacts, tasks and notes sync through EAS against Radicale, both ways, with conflicts and replays", async (t) => {
  const box = await startBox({ dav: true });
  try {
    const alice = box.mailstore.users[0]!;
    const dav = await prepareCollections(box);
    const client = box.client();
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    const folderCheck = await validateWithXsd(folders.raw);
    assert.ok(folderCheck.valid, folderCheck.messages);
    const adds = childrenNamed(child(folders.body, "Changes", FH), "Add", FH);
    const byType = (type: number) => adds.filter((a) => childText(a, "Type", FH) === String(type));
    const idOfType = (type: number) => childText(byType(type)[0], "ServerId", FH)!;

    await t.step("FolderSync shows the calendar, address book and task list with their types", () => {
      assert.deepEqual(byType(8).map((a) => childText(a, "DisplayName", FH)), ["Calendar"]);
      assert.deepEqual(byType(9).map((a) => childText(a, "DisplayName", FH)), ["Contacts"]);
      assert.deepEqual(byType(7).map((a) => childText(a, "DisplayName", FH)), ["Tasks"]);
      assert.deepEqual(byType(10).map((a) => childText(a, "DisplayName", FH)), ["Notes"]);
    });
    const calendarId = idOfType(8);
    const contactsId = idOfType(9);
    const tasksId = idOfType(7);
    const notesId = idOfType(10);

    let calKey = "";
    const calIds = new Map<string, string>();
    await t.step(
      "initial calendar sync brings the recurring event with its exception and time zone",
      async () => {
        const r = await initialSync(client, calendarId, "Calendar");
        calKey = r.syncKey;
        assert.equal(r.commands.length, 2);
        for (const add of r.commands) {
          calIds.set(childText(data(add), "Subject", CAL)!, childText(add, "ServerId", AS)!);
        }
        const weekly = data(r.commands.find((a) => childText(data(a), "Subject", CAL) === "Standup")!);
        assert.equal(childText(weekly, "StartTime", CAL), "20300107T080000Z");
        assert.equal(childText(child(weekly, "Recurrence", CAL), "Type", CAL), "1");
        assert.equal(childText(child(weekly, "Recurrence", CAL), "Occurrences", CAL), "10");
        const exception = child(child(weekly, "Exceptions", CAL), "Exception", CAL);
        assert.equal(childText(exception, "ExceptionStartTime", CAL), "20300114T080000Z");
        assert.equal(childText(exception, "StartTime", CAL), "20300114T100000Z");
        const berlin = encodeTimezoneBlob(windowsFromIana("Europe/Berlin", 2030));
        assert.equal(childText(weekly, "Timezone", CAL)?.slice(0, 8), berlin.slice(0, 8));
      },
    );

    await t.step("initial contacts and tasks syncs bring the desktop's items", async () => {
      const contacts = await initialSync(client, contactsId, "Contacts");
      assert.equal(contacts.commands.length, 1);
      assert.equal(childText(data(contacts.commands[0]!), "Email1Address", "Contacts"), "carol@example.test");
      assert.equal(childText(data(contacts.commands[0]!), "FirstName", "Contacts"), "Carol");
      const tasks = await initialSync(client, tasksId, "Tasks");
      assert.deepEqual(
        tasks.commands.map((c) => childText(data(c), "Subject", "Tasks")).sort(),
        ["Book the venue", "File the report"],
      );
      const notes = await initialSync(client, notesId, "Notes");
      assert.equal(notes.commands.length, 1);
      assert.equal(childText(data(notes.commands[0]!), "Subject", "Notes"), "Door code");
      assert.equal(
        childText(child(data(notes.commands[0]!), "Body", ASB), "Data", ASB),
        "4711 at the back door",
      );
    });

    await t.step("FilterType 8 on a Tasks folder syncs the incomplete tasks only", async () => {
      const options = el(
        AS,
        "Options",
        textEl(AS, "FilterType", 8),
        textEl(AS, "Class", "Tasks"),
        el(ASB, "BodyPreference", textEl(ASB, "Type", 1)),
      );
      const first = await syncOnce(client, tasksId, "0", [options]);
      const r = await syncOnce(client, tasksId, first.syncKey, [options]);
      assert.deepEqual(r.commands.map((c) => childText(data(c), "Subject", "Tasks")), ["File the report"]);
    });

    const calHref = `/${alice.name}/calendar/`;
    let phoneId = "";
    await t.step("a phone Add, Change and Delete reach Radicale", async () => {
      const before = await listing(dav, calHref);
      const berlin = encodeTimezoneBlob(windowsFromIana("Europe/Berlin", 2030));
      const appointment = (subject: string) =>
        el(
          AS,
          "ApplicationData",
          textEl(CAL, "Timezone", berlin),
          textEl(CAL, "AllDayEvent", 0),
          textEl(CAL, "BusyStatus", 2),
          textEl(CAL, "DtStamp", "20300101T000000Z"),
          textEl(CAL, "EndTime", "20300402T100000Z"),
          textEl(CAL, "Sensitivity", 0),
          textEl(CAL, "Subject", subject),
          textEl(CAL, "StartTime", "20300402T090000Z"),
          textEl(CAL, "MeetingStatus", 0),
        );
      const added = await syncOnce(client, calendarId, calKey, [
        el(AS, "Commands", el(AS, "Add", textEl(AS, "ClientId", "c-1"), appointment("Dentist"))),
      ]);
      const response = added.responses.find((x) => x.name === "Add")!;
      assert.equal(childText(response, "Status", AS), "1");
      phoneId = childText(response, "ServerId", AS)!;
      calKey = added.syncKey;
      const after = await listing(dav, calHref);
      assert.equal(after.length, before.length + 1);
      const created = after.find((h) => !before.includes(h))!;
      const stored = await dav.get(created);
      assert.match(stored!.data, /SUMMARY:Dentist/);
      assert.match(stored!.data, /DTSTART;TZID=[^:]+:20300402T110000/);

      const changed = await syncOnce(client, calendarId, calKey, [
        el(AS, "Commands", el(AS, "Change", textEl(AS, "ServerId", phoneId), appointment("Dentist (moved)"))),
      ]);
      assert.equal(changed.responses.length, 0, "a successful Change is not answered");
      calKey = changed.syncKey;
      assert.match((await dav.get(created))!.data, /SUMMARY:Dentist \(moved\)/);

      const deleted = await syncOnce(client, calendarId, calKey, [
        el(AS, "Commands", el(AS, "Delete", textEl(AS, "ServerId", phoneId))),
      ]);
      calKey = deleted.syncKey;
      assert.equal(await dav.get(created), undefined);
      assert.deepEqual(await listing(dav, calHref), before);
    });

    await t.step("a desktop edit reaches the phone as a Change", async () => {
      const current = await dav.get(`${calHref}single.ics`);
      await dav.put(`${calHref}single.ics`, SINGLE("Review (desktop)"), "text/calendar", current!.etag);
      const r = await syncOnce(client, calendarId, calKey);
      calKey = r.syncKey;
      assert.equal(r.commands.length, 1);
      assert.equal(r.commands[0]!.name, "Change");
      assert.equal(childText(r.commands[0]!, "ServerId", AS), calIds.get("Review"));
      assert.equal(childText(data(r.commands[0]!), "Subject", CAL), "Review (desktop)");
    });

    await t.step("a concurrent desktop and phone edit: the server wins with Status 7", async () => {
      const current = await dav.get(`${calHref}single.ics`);
      await dav.put(`${calHref}single.ics`, SINGLE("Review (desk wins)"), "text/calendar", current!.etag);
      const phoneEdit = el(
        AS,
        "Commands",
        el(
          AS,
          "Change",
          textEl(AS, "ServerId", calIds.get("Review")!),
          el(AS, "ApplicationData", textEl(CAL, "Subject", "Review (phone)")),
        ),
      );
      const r = await syncOnce(client, calendarId, calKey, [phoneEdit]);
      const change = r.responses.find((x) => x.name === "Change");
      assert.equal(childText(change, "Status", AS), "7");
      const sent = r.commands.find((c) => childText(c, "ServerId", AS) === calIds.get("Review"));
      assert.equal(childText(data(sent!), "Subject", CAL), "Review (desk wins)");
      const stored = await dav.get(`${calHref}single.ics`);
      assert.match(stored!.data, /SUMMARY:Review \(desk wins\)/);
      assert.match(stored!.data, /X-DESKTOP:keep/);

      // The response was lost: the same key again gives the same answer.
      const again = await syncOnce(client, calendarId, calKey, [phoneEdit]);
      assert.equal(again.syncKey, r.syncKey);
      assert.deepEqual(again.raw, r.raw);
      calKey = r.syncKey;
    });

    await t.step("GetItemEstimate counts a DAV folder's pending changes", async () => {
      await dav.put(
        `${calHref}extra.ics`,
        SINGLE("Extra").replace("UID:single-1", "UID:extra-1"),
        "text/calendar",
        "",
      );
      const reply = await client.command(
        "GetItemEstimate",
        estimateRequest(calendarId, calKey, [textEl(AS, "Class", "Calendar")]),
      );
      const check = await validateWithXsd(reply.raw);
      assert.ok(check.valid, check.messages);
      const response = child(reply.body, "Response", "GetItemEstimate");
      assert.equal(childText(response, "Status", "GetItemEstimate"), "1");
      assert.equal(
        childText(child(response, "Collection", "GetItemEstimate"), "Estimate", "GetItemEstimate"),
        "1",
      );
    });

    await t.step("a contact added on the phone is a vCard in the address book", async () => {
      const first = await syncOnce(client, contactsId, "0", [plainOptions("Contacts")]);
      const base = await syncOnce(client, contactsId, first.syncKey, [plainOptions("Contacts")]);
      const r = await syncOnce(client, contactsId, base.syncKey, [
        el(
          AS,
          "Commands",
          el(
            AS,
            "Add",
            textEl(AS, "ClientId", "k-1"),
            el(
              AS,
              "ApplicationData",
              textEl("Contacts", "Email1Address", "dave@example.test"),
              textEl("Contacts", "FileAs", "Dunn, Dave"),
              textEl("Contacts", "FirstName", "Dave"),
              textEl("Contacts", "LastName", "Dunn"),
            ),
          ),
        ),
      ]);
      assert.equal(childText(r.responses[0], "Status", AS), "1");
      const hrefs = await listing(dav, `/${alice.name}/contacts/`);
      assert.equal(hrefs.length, 2);
      const cards = await Promise.all(hrefs.map((h) => dav.get(h)));
      assert.ok(
        cards.some((c) => /EMAIL[^:]*:dave@example\.test/.test(c!.data) && /N:Dunn;Dave/.test(c!.data)),
      );
    });

    await t.step(
      "FolderCreate, FolderUpdate and FolderDelete of a calendar change Radicale's collections",
      async () => {
        let folderKey = childText(folders.body, "SyncKey", FH)!;
        const collectionNames = async () => {
          const responses = await dav.propfind(`/${alice.name}/`, [["DAV:", "displayname"]], 1);
          return responses.map((r) => r.props.get(propKey("DAV:", "displayname"))?.text ?? "").sort();
        };
        const folderCommand = async (name: string, ...children: WbxmlElement[]) => {
          const reply = await client.command(
            name,
            el(FH, name, textEl(FH, "SyncKey", folderKey), ...children),
          );
          const check = await validateWithXsd(reply.raw);
          assert.ok(check.valid, check.messages);
          assert.equal(childText(reply.body, "Status", FH), "1");
          folderKey = childText(reply.body, "SyncKey", FH)!;
          return reply.body;
        };
        const created = await folderCommand(
          "FolderCreate",
          textEl(FH, "ParentId", "0"),
          textEl(FH, "DisplayName", "Holidays"),
          textEl(FH, "Type", 13),
        );
        const holidays = childText(created, "ServerId", FH)!;
        assert.ok((await collectionNames()).includes("Holidays"));
        await folderCommand(
          "FolderUpdate",
          textEl(FH, "ServerId", holidays),
          textEl(FH, "ParentId", "0"),
          textEl(FH, "DisplayName", "Vacations"),
        );
        const names = await collectionNames();
        assert.ok(names.includes("Vacations") && !names.includes("Holidays"));
        // The new calendar syncs like any other.
        const r = await initialSync(client, holidays, "Calendar");
        assert.equal(r.status, 1);
        assert.equal(r.commands.length, 0);
        await folderCommand("FolderDelete", textEl(FH, "ServerId", holidays));
        assert.ok(!(await collectionNames()).includes("Vacations"));
        // Nothing left over for the next FolderSync: the device's own changes are not repeated.
        const next = await client.command(
          "FolderSync",
          el(FH, "FolderSync", textEl(FH, "SyncKey", folderKey)),
        );
        assert.equal(childText(next.body, "Status", FH), "1");
        assert.equal(childText(child(next.body, "Changes", FH), "Count", FH), "0");
      },
    );
  } finally {
    await box.stop();
  }
});
