import assert from "node:assert/strict";
import { DavClient } from "../../../src/bridge/dav/dav_client.ts";
import { davStateProbe } from "../../../src/bridge/dav/dav_probe.ts";
import { DavBackend } from "../../../src/bridge/dav/dav_backend.ts";
import { Store } from "../../../src/store/mod.ts";
import { ChangeHub } from "../../../src/push/hub.ts";
import { PollingWatcherFactory } from "../../../src/push/polling_watcher.ts";
import { startMailstore } from "../../harness/mod.ts";

const EVENT = (uid: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:20300101T090000Z\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;

Deno.test("davStateProbe() reads Radicale's sync-token once per collection and wakes a held Ping on a desktop change", async () => {
  const mailstore = await startMailstore({ dav: true, postfix: false, sieve: false });
  const hub = { current: undefined as ChangeHub | undefined };
  const store = Store.open(":memory:");
  try {
    const alice = mailstore.users[0]!;
    const credentials = { user: alice.name, password: alice.password };
    const dav = new DavClient({ url: new URL(mailstore.davUrl!), credentials });
    const href = `/${alice.name}/cal/`;
    await dav.mutate(
      "MKCALENDAR",
      href,
      '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>Cal</d:displayname></d:prop></d:set></c:mkcalendar>',
    );
    const requests: string[] = [];
    const probe = davStateProbe({ url: new URL(mailstore.davUrl!), onRequest: (c) => requests.push(c) });
    const events = `dav:${href}#VEVENT`, tasks = `dav:${href}#VTODO`;
    const [first, sameRound] = await Promise.all([probe(credentials, events), probe(credentials, tasks)]);
    assert.equal(first, sameRound);
    assert.match(first, /^.+\|/, "a sync-token");
    assert.deepEqual(requests, [href], "the Calendar and Tasks folders of one collection share one PROPFIND");
    // The token is the folder's Sync cursor: a Sync marks what it delivered as seen (ChangeHub.markSeen).
    const backend = new DavBackend({
      client: dav,
      state: store.davState,
      user: alice.name,
      selfEmails: () => Promise.resolve([]),
    });
    assert.equal(await backend.syncSource(events, { bodyPreferences: [], filterType: 4 }).cursor(), first);
    await assert.rejects(probe({ ...credentials, password: "wrong" }, `dav:/${alice.name}/other/#VEVENT`));
    await assert.rejects(probe(credentials, "imap:INBOX"), /not a DAV folder key/);

    // Through the hub as the box would run it: a held request on both folders, a change by another DAV client.
    hub.current = new ChangeHub({
      factories: [new PollingWatcherFactory({ prefix: "dav:", probe, intervalMs: 1500 })],
      tickMs: 100,
    });
    const held = hub.current.wait({
      user: alice.name,
      device: "phone",
      keys: [events, tasks],
      timeoutMs: 20_000,
      credentials,
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = requests.length;
    const changedAt = Date.now();
    await dav.put(`${href}new.ics`, EVENT("new-1"), "text/calendar", "");
    const outcome = await held;
    const latency = Date.now() - changedAt;
    assert.equal(outcome.kind, "changed");
    assert.ok(latency < 1500 + 2000, `woken ${latency} ms after the change`);
    // One PROPFIND per round for both folders (round count is time-bound; the pair never doubles it).
    const rounds = requests.length - before;
    assert.ok(rounds >= 1 && rounds <= 4, `${rounds} PROPFINDs`);
  } finally {
    hub.current?.close();
    store.close();
    await mailstore.stop();
  }
});
