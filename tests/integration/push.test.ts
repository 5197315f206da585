import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { decodeWithLibwbxml, validateWithXsd } from "./eas_checks.ts";
import { type Box, startBox } from "./fixture.ts";
import { pingRequest } from "../../tools/eas_client/requests.ts";

const AS = "AirSync";
const MAIL = "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: pushed\r\n\r\nhello\r\n";

/** FolderSync from 0; returns ServerIds by EAS folder type. */
async function folderIds(client: EasClient): Promise<Map<number, string>> {
  const reply = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  const ids = new Map<number, string>();
  for (const add of childrenNamed(child(reply.body, "Changes"), "Add")) {
    ids.set(Number(childText(add, "Type")), childText(add, "ServerId")!);
  }
  return ids;
}

async function withBox(fn: (box: Box) => Promise<void>): Promise<void> {
  const box = await startBox();
  try {
    await fn(box);
  } finally {
    await box.stop();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const totalChanges = (box: Box) => box.server.store.db.get<{ n: number }>("SELECT total_changes() AS n")!.n;

async function untilHeld(box: Box, count: number): Promise<void> {
  for (let i = 0; i < 200 && box.server.push.hub.stats().held < count; i++) await sleep(20);
  assert.equal(box.server.push.hub.stats().held, count, "requests are held");
  // Let the watcher read its first state (the baseline) before anything changes.
  for (let i = 0; i < 200 && !box.server.push.hub.status().every((u) => u.keys > 0); i++) await sleep(20);
}

Deno.test("a held Ping over TLS wakes with Status 2 within 2 s of an LMTP delivery, valid per the XSD", async () => {
  await withBox(async (box) => {
    const alice = box.mailstore.users[0]!;
    const client = box.client();
    const ids = await folderIds(client);
    const inbox = ids.get(2)!;
    const sent = ids.get(5)!;
    const pending = client.command("Ping", pingRequest(120, [inbox, sent]));
    await untilHeld(box, 1);
    const delivered = performance.now();
    await box.mailstore.deliver(alice.name, MAIL);
    const reply = await pending;
    const ms = performance.now() - delivered;
    assert.ok(ms < 2000, `answered ${Math.round(ms)} ms after delivery`);
    assert.equal(reply.status, 200);
    assert.equal(childText(reply.body, "Status"), "2");
    assert.deepEqual(childrenNamed(child(reply.body, "Folders"), "Folder").map((f) => f.text), [inbox]);
    assert.match(await decodeWithLibwbxml(reply.raw), /<Folder>\s*\d+\s*<\/Folder>/);
    const xsd = await validateWithXsd(reply.raw);
    assert.ok(xsd.valid, xsd.messages);
  });
});

Deno.test("a second Ping of the same device answers the held one at once; quiet Pings write nothing", async () => {
  await withBox(async (box) => {
    const client = box.client();
    const ids = await folderIds(client);
    const inbox = ids.get(2)!;
    const again = box.client(undefined, { deviceId: client.options.deviceId });
    const before = totalChanges(box);
    const first = client.command("Ping", pingRequest(300, [inbox]));
    await untilHeld(box, 1);
    const started = performance.now();
    const second = again.send("Ping", undefined);
    const superseded = await first;
    assert.ok(performance.now() - started < 1000);
    assert.equal(childText(superseded.body, "Status"), "1");
    const xsd = await validateWithXsd(superseded.raw);
    assert.ok(xsd.valid, xsd.messages);
    await untilHeld(box, 1);
    // The empty Ping repeated the previous one and is held too: end it with a kick (a pending wipe).
    assert.equal(box.server.push.hub.kick(client.options.user, client.options.deviceId), 1);
    const kicked = await second;
    assert.equal(childText(kicked.body, "Status"), "2");
    assert.equal(totalChanges(box), before, "no SQLite row changed by the Pings");
  });
});

Deno.test("Ping statuses 5 and 7 over the wire validate against the XSD", async () => {
  await withBox(async (box) => {
    const client = box.client();
    const inbox = (await folderIds(client)).get(2)!;
    const low = await client.command("Ping", pingRequest(10, [inbox]));
    assert.equal(childText(low.body, "Status"), "5");
    assert.equal(childText(low.body, "HeartbeatInterval"), "60");
    const unknown = await client.command("Ping", pingRequest(120, ["4242"]));
    assert.equal(childText(unknown.body, "Status"), "7");
    for (const reply of [low, unknown]) {
      const xsd = await validateWithXsd(reply.raw);
      assert.ok(xsd.valid, xsd.messages);
    }
  });
});

Deno.test("a hanging Sync (Wait) wakes when mail is delivered", async () => {
  await withBox(async (box) => {
    const alice = box.mailstore.users[0]!;
    const client = box.client();
    const inbox = (await folderIds(client)).get(2)!;
    const sync = (key: string, extra: WbxmlElement[] = []) =>
      client.command(
        "Sync",
        el(
          AS,
          "Sync",
          el(
            AS,
            "Collections",
            el(AS, "Collection", textEl(AS, "SyncKey", key), textEl(AS, "CollectionId", inbox)),
          ),
          ...extra,
        ),
      );
    const first = await sync("0");
    let key = childText(child(child(first.body, "Collections", AS), "Collection", AS), "SyncKey", AS)!;
    const quiet = await sync(key);
    key = childText(child(child(quiet.body, "Collections", AS), "Collection", AS), "SyncKey", AS) ?? key;
    const pending = sync(key, [textEl(AS, "Wait", 2)]);
    await untilHeld(box, 1);
    const delivered = performance.now();
    await box.mailstore.deliver(alice.name, MAIL);
    const reply = await pending;
    assert.ok(performance.now() - delivered < 2000, "answered within 2 s");
    const collection = child(child(reply.body, "Collections", AS), "Collection", AS);
    assert.equal(childrenNamed(child(collection, "Commands", AS), "Add", AS).length, 1);
  });
});
