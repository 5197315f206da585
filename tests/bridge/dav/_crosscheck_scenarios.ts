/**
 * What the DAV cross-checks (SabreDAV, Xandikos, Radicale) share: a recording client, reading one
 * item back, bob's day for free/busy lookups, and the scenarios that run the same way against each
 * server, with hooks for what differs.
 */
import assert from "node:assert/strict";
import { DavClient, type DavHomes, DavPreconditionError } from "../../../src/bridge/dav/dav_client.ts";
import { DavAvailability } from "../../../src/bridge/dav/availability.ts";
import type { DavBackend } from "../../../src/bridge/dav/dav_backend.ts";
import { FOLDER_TYPE } from "../../../src/eas/protocol/folder_types.ts";
import { EasStatusError } from "../../../src/eas/protocol/errors.ts";
import { SYNC_STATUS } from "../../../src/eas/sync/status.ts";
import type { SyncSource } from "../../../src/eas/sync/types.ts";
import type { ModelObject } from "../../../src/eas/model/streamer.ts";
import type { Appointment } from "../../../src/eas/model/calendar.ts";
import { DEFAULT_USERS } from "../../harness/mod.ts";

export const [ALICE, BOB] = DEFAULT_USERS as [typeof DEFAULT_USERS[0], typeof DEFAULT_USERS[0]];

/** A VCALENDAR with one VEVENT of the given UID and further lines, as a desktop client writes it. */
export const EVENT = (uid: string, lines: string[]) =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//desk//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20300101T000000Z",
    ...lines,
    "END:VEVENT",
    "END:VCALENDAR",
    "",
  ].join("\r\n");

/** The free/busy window of the lookups: 2030-03-18 08:00-12:00 UTC. */
export const START = new Date("2030-03-18T08:00:00Z");
export const END = new Date("2030-03-18T12:00:00Z");

/** Bob's day: busy 09:00-10:00, a transparent 10:00-10:30 (free), tentative 11:00-11:30. */
const BOB_EVENTS: [string, string][] = [
  ["busy", EVENT("busy-1", ["DTSTART:20300318T090000Z", "DTEND:20300318T100000Z", "SUMMARY:Review"])],
  ["lunch", EVENT("free-1", ["DTSTART:20300318T100000Z", "DTEND:20300318T103000Z", "TRANSP:TRANSPARENT"])],
  ["maybe", EVENT("maybe-1", ["DTSTART:20300318T110000Z", "DTEND:20300318T113000Z", "STATUS:TENTATIVE"])],
];
/** Bob's day from START to END in 30-minute digits (MS-ASCMD 2.2.3.107): busy 2, tentative 1, free 0. */
export const BOB_MERGED = "00220010";

/** Bob's desktop writes his day into his calendar (`calendar` ends in "/"). */
export async function putBobsDay(client: DavClient, calendar: string): Promise<void> {
  for (const [name, ics] of BOB_EVENTS) {
    await client.put(`${calendar}${name}.ics`, ics, "text/calendar", "");
  }
}

/** Alice's free/busy lookup with her addresses, and home sets when given. */
export function aliceLookup(
  client: DavClient,
  selfEmails: string[] = [ALICE.email],
  homes?: () => Promise<DavHomes>,
): DavAvailability {
  return new DavAvailability({
    client,
    login: ALICE.name,
    selfEmails: () => Promise.resolve(selfEmails),
    ...(homes ? { homes } : {}),
  });
}

/** A DavClient that records the method and href of every request (and the REPORT's name). */
export class RecordingClient extends DavClient {
  readonly calls: string[] = [];
  override request(
    method: string,
    href: string,
    init?: { body?: string; headers?: Record<string, string> },
  ): Promise<Response> {
    const report = method === "REPORT"
      ? /<[a-z]+:([a-z-]+)/i.exec(init?.body?.replace(/<\?[^>]*>/, "") ?? "")
      : null;
    this.calls.push(report ? `REPORT ${report[1]} ${href}` : `${method} ${href}`);
    return super.request(method, href, init);
  }
}

/** Fetches one item of a source and asserts it converted. */
export async function fetchOne(source: SyncSource<ModelObject>, id: string): Promise<ModelObject> {
  const got = [];
  for await (const item of source.fetch([id], "add")) got.push(item);
  assert.equal(got.length, 1);
  const [first] = got;
  if (!first || !("item" in first)) throw new Error(`Item "${id}" did not convert`);
  return first.item;
}

export const isConflict = (e: unknown) => e instanceof EasStatusError && e.status === SYNC_STATUS.Conflict;

export interface RoundTrip {
  client: RecordingClient;
  source: SyncSource<ModelObject>;
  /** Where the desktop client writes its event (uid desk-1, 2030-03-18 09:00Z, X-DESKTOP:keep). */
  href: string;
  desk: (summary: string) => string;
  /** Checks the requests of the scan that found the desktop's new event. */
  afterDesktopAdd: (calls: string[]) => void;
  /** Checks the requests of the delete and the scan that follows it. */
  afterDesktopDelete?: (calls: string[]) => void;
}

/**
 * A desktop event and a phone event go both ways through a calendar: desktop add, change and delete
 * seen by scans; the phone's add, change (unknown properties survive) and delete written with ETags;
 * 412 on a clobber or a stale write, and a conflict for the phone's delete after a desktop edit.
 */
export async function calendarRoundTrip(
  { client, source, href, desk, afterDesktopAdd, afterDesktopDelete }: RoundTrip,
): Promise<void> {
  // Initial scan of the empty calendar.
  let scan = await source.scan(undefined, undefined);
  assert.deepEqual(scan.items, []);

  // A desktop client's event appears.
  await client.put(href, desk("Desk meeting"), "text/calendar", "");
  client.calls.length = 0;
  scan = await source.scan(undefined, undefined);
  afterDesktopAdd(client.calls);
  assert.equal(scan.items.length, 1);
  const [first] = scan.items;
  const app = await fetchOne(source, first!.id) as Appointment;
  assert.equal(app.subject, "Desk meeting");
  assert.equal(app.startTime, "20300318T090000Z");

  // A desktop change (If-Match with the current ETag): same id, new token.
  const before = await client.get(href);
  await client.put(href, desk("Desk moved"), "text/calendar", before!.etag);
  scan = await source.scan(undefined, undefined);
  assert.equal(scan.items.length, 1);
  assert.equal(scan.items[0]!.id, first!.id);
  assert.notEqual(scan.items[0]!.token, first!.token);
  assert.equal((await fetchOne(source, first!.id) as Appointment).subject, "Desk moved");

  // The phone adds one (If-None-Match: *); the token a scan reports is the ETag of the write.
  const added = await source.add({
    subject: "From phone",
    startTime: "20300320T080000Z",
    endTime: "20300320T090000Z",
    reminder: 10,
  });
  assert.ok(added.token);
  scan = await source.scan(undefined, undefined);
  assert.deepEqual(scan.items.map((i) => i.id).sort(), [first!.id, added.id].sort());
  assert.equal(scan.items.find((i) => i.id === added.id)!.token, added.token);

  // The phone changes the desktop event (If-Match): properties it does not know survive.
  const changed = await source.change(first!.id, { ...app, subject: "Renamed on phone" });
  assert.ok(changed);
  const stored = await client.get(href);
  assert.match(stored!.data, /SUMMARY:Renamed on phone/);
  assert.match(stored!.data, /X-DESKTOP:keep/);
  assert.equal(stored!.etag, changed.token);

  // Creating over an existing resource and replacing a stale version are both refused with 412.
  await assert.rejects(() => client.put(href, desk("Clobber"), "text/calendar", ""), DavPreconditionError);
  await assert.rejects(
    () => client.put(href, desk("Clobber"), "text/calendar", before!.etag),
    DavPreconditionError,
  );

  // A concurrent desktop edit: the phone's delete with the old ETag is a conflict, nothing is lost.
  await client.put(href, desk("Desk again"), "text/calendar", stored!.etag);
  await assert.rejects(() => source.remove(first!.id), isConflict);
  assert.match((await client.get(href))!.data, /SUMMARY:Desk again/);

  // A desktop delete disappears from the next scan.
  client.calls.length = 0;
  assert.ok(await client.delete(href));
  scan = await source.scan(undefined, undefined);
  afterDesktopDelete?.(client.calls);
  assert.deepEqual(scan.items.map((i) => i.id), [added.id]);

  // The phone deletes its own event with the current ETag.
  assert.equal(await source.remove(added.id), true);
  assert.deepEqual((await source.scan(undefined, undefined)).items, []);
}

/**
 * FolderCreate, FolderUpdate and FolderDelete of a user calendar and a user address book:
 * `folderKeys` says which folder keys the server lists for the new collection (and deleting it
 * removes), and none of them is left afterwards.
 */
export async function folderLifecycle(
  backend: DavBackend,
  folderKeys: (type: number, key: string, href: string) => string[],
): Promise<void> {
  for (const type of [FOLDER_TYPE.UserCalendar, FOLDER_TYPE.UserContacts]) {
    const key = await backend.createFolder(type, "Holidays");
    let folder = (await backend.listFolders()).find((f) => f.key === key);
    assert.equal(folder?.displayName, "Holidays");
    await backend.renameFolder(key, "Vacations");
    folder = (await backend.listFolders()).find((f) => f.key === key);
    assert.equal(folder?.displayName, "Vacations");
    const href = key.slice("dav:".length, key.indexOf("#"));
    const expected = [...folderKeys(type, key, href)].sort();
    assert.deepEqual(
      (await backend.listFolders()).filter((f) => f.key.startsWith(`dav:${href}#`)).map((f) => f.key)
        .sort(),
      expected,
    );
    assert.deepEqual((await backend.deleteFolder(key)).sort(), expected);
    assert.ok(!(await backend.listFolders()).some((f) => f.key.startsWith(`dav:${href}#`)));
  }
}
