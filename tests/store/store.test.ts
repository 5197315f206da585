import assert from "node:assert/strict";
import { Database, Store } from "../../src/store/mod.ts";
import { sighting } from "./_sighting.ts";

Deno.test("Store.open() applies migrations and passes the integrity check", () => {
  const store = Store.open(":memory:");
  assert.ok(store.db.schemaVersion >= 1);
  assert.equal(store.db.integrityCheck(), "ok");
  store.close();
});

Deno.test("devices.sighted() writes a new device and skips the write for a quiet repeat", () => {
  const store = Store.open(":memory:");
  const first = store.devices.sighted(sighting(), 1_000);
  assert.equal(first.firstSeen, 1_000);
  const again = store.devices.sighted(sighting(), 2_000);
  assert.equal(again.lastSeen, 1_000, "a repeat within the write interval must not write");
  const later = store.devices.sighted(sighting(), 1_000 + 16 * 60_000);
  assert.equal(later.lastSeen, 1_000 + 16 * 60_000);
  const upgraded = store.devices.sighted({ ...sighting(), protocolVersion: "14.1" }, 1_000 + 16 * 60_000 + 1);
  assert.equal(store.devices.byId(upgraded.id)?.protocolVersion, "14.1");
  store.close();
});

Deno.test("folders.serverIdFor() gives short stable ids per user that are never reused", () => {
  const store = Store.open(":memory:");
  const inbox = store.folders.serverIdFor("alice", "imap:INBOX");
  const sent = store.folders.serverIdFor("alice", "imap:Sent");
  assert.equal(inbox, "1");
  assert.equal(sent, "2");
  assert.equal(store.folders.serverIdFor("alice", "imap:INBOX"), "1");
  assert.equal(store.folders.serverIdFor("bob", "imap:INBOX"), "1");
  assert.equal(store.folders.backendKeyOf("alice", "2"), "imap:Sent");
  assert.equal(store.folders.backendKeyOf("alice", "99"), undefined);
  store.folders.rekey("alice", "imap:Sent", "imap:Sent Items");
  assert.equal(store.folders.serverIdFor("alice", "imap:Sent Items"), "2");
  store.close();
});

Deno.test("folders keep the last two FolderSync generations and cascade on device delete", () => {
  const store = Store.open(":memory:");
  const device = store.devices.sighted(sighting());
  const f = (name: string) => ({ serverId: name, parentId: "0", displayName: name, type: 12 });
  store.folders.saveFolderState(device.id, 1, [f("a")]);
  store.folders.saveFolderState(device.id, 2, [f("a"), f("b")]);
  store.folders.saveFolderState(device.id, 3, [f("b")]);
  assert.equal(store.folders.folderState(device.id, 1), undefined);
  assert.deepEqual(store.folders.folderState(device.id, 2)?.map((x) => x.serverId), ["a", "b"]);
  assert.equal(store.folders.latestFolderKey(device.id), 3);
  store.devices.delete(device.id);
  assert.equal(store.folders.latestFolderKey(device.id), 0);
  store.close();
});

Deno.test("Database.transaction() rolls back every change when the body throws", () => {
  const store = Store.open(":memory:");
  assert.throws(() =>
    store.db.transaction(() => {
      store.settings.set("k", "v");
      throw new Error("boom");
    }), /boom/);
  assert.equal(store.settings.get("k"), undefined);
  store.close();
});

Deno.test("migrations apply by number even when a higher-numbered one ran first", async () => {
  const dir = await Deno.makeTempDir();
  const m = (version: number) => ({
    version,
    name: `m${version}`,
    sql: `CREATE TABLE t${version} (x INTEGER)`,
  });
  try {
    const path = `${dir}/db.sqlite`;
    Database.open(path, [m(1), m(3)]).close();
    // A later build adds migration 2, whose number was reserved earlier.
    const db = Database.open(path, [m(1), m(2), m(3)]);
    const tables = db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE name LIKE 't%' ORDER BY name",
    );
    assert.deepEqual(tables.map((t) => t.name), ["t1", "t2", "t3"]);
    assert.equal(db.schemaVersion, 3);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
