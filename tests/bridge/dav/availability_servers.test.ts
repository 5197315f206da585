/**
 * Free/busy of another user (ResolveRecipients Availability) against real servers that permit it:
 * Xandikos answers the free-busy-query REPORT (RFC 4791 7.10), Radicale 3.1 with owner_write
 * rights lets users read each other's calendars but ignores that report (a 207 listing), so the
 * events of the window are read instead. Radicale's default owner_only rights still refuse.
 * Neither server has an RFC 6638 scheduling outbox, so the outbox branch is not reached here.
 */
import assert from "node:assert/strict";
import { DavClient } from "../../../src/bridge/dav/dav_client.ts";
import { startRadicale } from "../../harness/_radicale.ts";
import { stopServer } from "../../harness/_process.ts";
import { startXandikos } from "../../harness/_xandikos.ts";
import { freePort } from "../../harness/free_port.ts";
import {
  ALICE,
  aliceLookup,
  BOB,
  BOB_MERGED,
  END,
  EVENT,
  putBobsDay,
  RecordingClient,
  START,
} from "./_crosscheck_scenarios.ts";

const MKCALENDAR =
  '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>' +
  '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>' +
  "</d:prop></d:set></c:mkcalendar>";

Deno.test("DavAvailability reads another user's free/busy from Xandikos's free-busy-query report", async () => {
  const server = await startXandikos({ users: [ALICE] });
  try {
    const client = new RecordingClient({
      url: new URL(server.url),
      credentials: { user: ALICE.name, password: ALICE.password },
    });
    // Xandikos serves one principal and no access control: bob's calendar is made beside
    // alice's principal, where the sibling-principal lookup finds it.
    const mkcol = await client.request("MKCOL", `/${BOB.name}/`);
    await mkcol.body?.cancel();
    assert.equal(mkcol.status, 201);
    await client.mutate("MKCALENDAR", `/${BOB.name}/work/`, MKCALENDAR);
    await putBobsDay(client, `/${BOB.name}/work/`);
    const result = await aliceLookup(client).freeBusy(BOB.email, START, END);
    assert.deepEqual(result, { merged: BOB_MERGED });
    const bobReports = client.calls.filter((c) =>
      c.startsWith("REPORT ") && c.endsWith(`/${BOB.name}/work/`)
    );
    assert.deepEqual(bobReports, [`REPORT free-busy-query /${BOB.name}/work/`]);
  } finally {
    await server.stop();
  }
});

async function withRadicale(
  rights: "owner_only" | "owner_write",
  run: (url: URL) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-fb-" });
  const port = freePort();
  const server = await startRadicale({ dir, port, users: [ALICE, BOB], rights });
  try {
    const url = new URL(`http://127.0.0.1:${port}/`);
    const bob = new DavClient({ url, credentials: { user: BOB.name, password: BOB.password } });
    await bob.discover();
    await bob.mutate("MKCALENDAR", `/${BOB.name}/work/`, MKCALENDAR);
    await putBobsDay(bob, `/${BOB.name}/work/`);
    // A weekly event on Mondays 08:00-08:30 from two weeks before: its expanded occurrence counts.
    await bob.put(
      `/${BOB.name}/work/weekly.ics`,
      EVENT("weekly-1", ["DTSTART:20300304T080000Z", "DTEND:20300304T083000Z", "RRULE:FREQ=WEEKLY;BYDAY=MO"]),
      "text/calendar",
      "",
    );
    await run(url);
  } finally {
    await stopServer(server);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

Deno.test("DavAvailability lists the events of a colleague's calendar on Radicale with owner_write rights", async () => {
  await withRadicale("owner_write", async (url) => {
    const client = new RecordingClient({ url, credentials: { user: ALICE.name, password: ALICE.password } });
    const result = await aliceLookup(client).freeBusy(BOB.email, START, END);
    assert.deepEqual(result, { merged: "2" + BOB_MERGED.slice(1) });
    // Radicale 3.1 answers the free-busy-query with a plain listing; the events are read instead.
    assert.deepEqual(
      client.calls.filter((c) => c.startsWith("REPORT ") && c.endsWith(`/${BOB.name}/work/`)),
      [
        `REPORT free-busy-query /${BOB.name}/work/`,
        `REPORT calendar-query /${BOB.name}/work/`,
      ],
    );
  });
});

Deno.test("DavAvailability answers unreadable for a colleague on Radicale with owner_only rights", async () => {
  await withRadicale("owner_only", async (url) => {
    const client = new DavClient({ url, credentials: { user: ALICE.name, password: ALICE.password } });
    assert.deepEqual(await aliceLookup(client).freeBusy(BOB.email, START, END), { failure: "unreadable" });
  });
});
