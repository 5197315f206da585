import assert from "node:assert/strict";
import type { FolderScan, ItemState } from "../../../src/backend/mail.ts";
import { EasStatusError } from "../../../src/eas/protocol/errors.ts";
import {
  type CollectionRequest,
  estimateChanges,
  type SourceItem,
  SYNC_STATUS,
  syncCollection,
  type SyncSource,
} from "../../../src/eas/sync/mod.ts";
import { Store } from "../../../src/store/mod.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 21, 12);

interface Note {
  text: string;
}

/** An in-memory folder: items with tokens and dates, and a log of writes. */
class TableSource implements SyncSource<Note> {
  items = new Map<string, ItemState & { text: string }>();
  validity = 1;
  writes: string[] = [];
  failing = new Set<string>();
  nextId = 100;

  put(id: string, daysAgo: number, text = `item ${id}`, token = "t0"): void {
    this.items.set(id, { id, token, date: NOW - daysAgo * DAY, text });
  }
  cursor(): Promise<string> {
    return Promise.resolve(
      `${this.validity}:${[...this.items.values()].map((i) => i.id + i.token).join(",")}`,
    );
  }
  async scan(since: Date | undefined, cursor: string | undefined): Promise<FolderScan> {
    const now = await this.cursor();
    const reset = cursor !== undefined && cursor.split(":")[0] !== String(this.validity);
    const items = [...this.items.values()].filter((i) => !since || i.date >= since.getTime())
      .map(({ id, token, date }) => ({ id, token, date }));
    return { cursor: now, reset, full: true, items, vanished: [] };
  }
  async *fetch(ids: string[]): AsyncIterable<SourceItem<Note>> {
    for (const id of ids) {
      const item = this.items.get(id);
      if (!item) continue;
      if (this.failing.has(id)) yield { id, error: new Error(`Item '${id}' cannot be converted`) };
      else yield { id, item: { text: item.text }, state: { id, token: item.token, date: item.date } };
    }
  }
  add(item: Note): Promise<ItemState> {
    if (item.text === "forbidden") return Promise.reject(new EasStatusError(SYNC_STATUS.ProtocolError));
    const id = String(this.nextId++);
    this.put(id, 0, item.text);
    this.writes.push(`add ${id}`);
    const { token, date } = this.items.get(id)!;
    return Promise.resolve({ id, token, date });
  }
  change(id: string, item: Note): Promise<ItemState | undefined> {
    const held = this.items.get(id);
    if (!held) return Promise.resolve(undefined);
    held.text = item.text;
    held.token = `t:${item.text}`;
    this.writes.push(`change ${id}`);
    return Promise.resolve({ id, token: held.token, date: held.date });
  }
  remove(id: string): Promise<boolean> {
    this.writes.push(`delete ${id}`);
    return Promise.resolve(this.items.delete(id));
  }
}

function setup() {
  const store = Store.open(":memory:");
  const device = store.devices.sighted({
    user: "alice",
    deviceId: "D1",
    deviceType: "iPhone",
    userAgent: "",
    protocolVersion: "16.1",
  });
  const source = new TableSource();
  const deps = { store: store.syncState, source, now: () => NOW };
  const request = (
    syncKey: string,
    more: Partial<CollectionRequest<Note>> = {},
  ): CollectionRequest<Note> => ({
    device: device.id,
    collection: "5",
    syncKey,
    getChanges: true,
    windowSize: 100,
    filterType: 0,
    conflict: 1,
    commands: [],
    options: "",
    ...more,
  });
  const changesOf = () => store.db.get<{ n: number }>("SELECT total_changes() AS n")!.n;
  return { store, source, deps, request, changesOf };
}

Deno.test("SyncKey 0 answers a fresh key without items, and an unknown key gets Status 3", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  const first = await syncCollection(request("0"), deps);
  assert.equal(first.status, SYNC_STATUS.Success);
  assert.match(first.syncKey, /^\{[0-9a-f]{16}\}1$/);
  assert.equal(first.changes.length, 0);
  assert.equal(
    (await syncCollection(request("{0000000000000000}1"), deps)).status,
    SYNC_STATUS.InvalidSyncKey,
  );
  assert.equal((await syncCollection(request("7"), deps)).status, SYNC_STATUS.InvalidSyncKey);
});

Deno.test("syncCollection() sends items in windows, newest first, with MoreAvailable until done", async () => {
  const { source, deps, request } = setup();
  for (let i = 1; i <= 5; i++) source.put(String(i), 10 - i);
  let key = (await syncCollection(request("0"), deps)).syncKey;
  const seen: string[] = [];
  const more: boolean[] = [];
  for (let round = 0; round < 4; round++) {
    const r = await syncCollection(request(key, { windowSize: 2 }), deps);
    seen.push(...r.changes.map((c) => `${c.kind}:${c.id}`));
    more.push(r.moreAvailable);
    key = r.syncKey;
  }
  assert.deepEqual(seen, ["add:5", "add:4", "add:3", "add:2", "add:1"]);
  assert.deepEqual(more, [true, true, false, false]);
});

Deno.test("a sync without changes keeps the key and writes nothing", async () => {
  const { source, deps, request, changesOf } = setup();
  source.put("1", 1);
  let key = (await syncCollection(request("0"), deps)).syncKey;
  key = (await syncCollection(request(key), deps)).syncKey;
  key = (await syncCollection(request(key), deps)).syncKey; // stores the cursor
  const before = changesOf();
  const again = await syncCollection(request(key), deps);
  assert.equal(again.syncKey, key);
  assert.equal(again.changes.length, 0);
  assert.equal(changesOf(), before);
});

Deno.test("resending the previous key replays the lost response: same ids, no duplicates, no loss", async () => {
  const { source, deps, request } = setup();
  source.put("1", 3);
  source.put("2", 2);
  const k1 = (await syncCollection(request("0"), deps)).syncKey;
  const lost = await syncCollection(request(k1, { windowSize: 1 }), deps);
  assert.deepEqual(lost.changes.map((c) => c.id), ["2"]);
  source.put("3", 0); // new mail arrives meanwhile
  const replayed = await syncCollection(request(k1, { windowSize: 1 }), deps);
  assert.equal(replayed.replayed, true);
  assert.equal(replayed.syncKey, lost.syncKey);
  assert.deepEqual(replayed.changes.map((c) => `${c.kind}:${c.id}`), ["add:2"]);
  assert.equal(replayed.moreAvailable, true);
  const rest: string[] = [];
  let key = replayed.syncKey;
  for (let i = 0; i < 3; i++) {
    const r = await syncCollection(request(key, { windowSize: 1 }), deps);
    rest.push(...r.changes.map((c) => `${c.kind}:${c.id}`));
    key = r.syncKey;
  }
  assert.deepEqual(rest, ["add:3", "add:1"]);
});

Deno.test("a retried Add with the same ClientId gets the same ServerId and creates one item", async () => {
  const { source, deps, request } = setup();
  const k1 = (await syncCollection(request("0"), deps)).syncKey;
  const add = { kind: "add" as const, clientId: "c-1", item: { text: "draft" } };
  const first = await syncCollection(request(k1, { commands: [add] }), deps);
  assert.deepEqual(first.responses.map((r) => [r.clientId, r.id, r.status]), [["c-1", "100", 1]]);
  assert.equal(first.changes.length, 0, "the device's own add is not echoed back");
  const replay = await syncCollection(request(k1, { commands: [add] }), deps);
  assert.deepEqual(replay.responses.map((r) => [r.clientId, r.id, r.status]), [["c-1", "100", 1]]);
  const later = await syncCollection(request(first.syncKey, { commands: [add] }), deps);
  assert.deepEqual(later.responses.map((r) => r.id), ["100"]);
  assert.deepEqual(source.writes, ["add 100"]);
});

Deno.test("phone changes and deletes reach the source; a failed Add reports its status", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  source.put("2", 1);
  let key = (await syncCollection(request("0"), deps)).syncKey;
  key = (await syncCollection(request(key), deps)).syncKey;
  const r = await syncCollection(
    request(key, {
      commands: [
        { kind: "change", id: "1", item: { text: "read" } },
        { kind: "delete", id: "2" },
        { kind: "delete", id: "99" },
        { kind: "add", clientId: "x", item: { text: "forbidden" } },
      ],
    }),
    deps,
  );
  assert.deepEqual(r.responses.map((x) => `${x.kind}:${x.id ?? x.clientId}:${x.status}`), [
    "change:1:1",
    "delete:2:1",
    "delete:99:8",
    "add:x:4",
  ]);
  assert.deepEqual(r.changes, []);
  assert.deepEqual(source.writes, ["change 1", "delete 2", "delete 99"]);
  const next = await syncCollection(request(r.syncKey), deps);
  assert.deepEqual(next.changes, [], "nothing of the device's own changes comes back");
});

Deno.test("server changes, deletes and items leaving the filter window go out as Change, Delete, SoftDelete", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  source.put("2", 2);
  source.put("3", 5);
  let key = (await syncCollection(request("0", { filterType: 3 }), deps)).syncKey;
  key = (await syncCollection(request(key, { filterType: 3 }), deps)).syncKey;
  source.items.get("1")!.token = "t1";
  source.items.delete("2");
  const narrower = await syncCollection(request(key, { filterType: 2 }), deps);
  assert.deepEqual(narrower.changes.map((c) => `${c.kind}:${c.id}`), [
    "delete:2",
    "softDelete:3",
    "change:1",
  ]);
});

Deno.test("a Change that conflicts with a server change loses with Status 7 when the server wins", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  let key = (await syncCollection(request("0"), deps)).syncKey;
  key = (await syncCollection(request(key), deps)).syncKey;
  source.items.get("1")!.token = "server";
  const r = await syncCollection(
    request(key, { commands: [{ kind: "change", id: "1", item: { text: "phone" } }] }),
    deps,
  );
  assert.deepEqual(r.responses.map((x) => x.status), [SYNC_STATUS.Conflict]);
  assert.deepEqual(r.changes.map((c) => `${c.kind}:${c.id}`), ["change:1"]);
  assert.deepEqual(source.writes, []);
  source.items.get("1")!.token = "server2";
  const clientWins = await syncCollection(
    request(r.syncKey, { conflict: 0, commands: [{ kind: "change", id: "1", item: { text: "phone" } }] }),
    deps,
  );
  assert.deepEqual(clientWins.responses.map((x) => x.status), [SYNC_STATUS.Success]);
  assert.deepEqual(source.writes, ["change 1"]);
});

Deno.test("an item that fails to convert is skipped and not retried until it changes", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  source.put("2", 2);
  source.failing.add("1");
  const skipped: string[] = [];
  const d = { ...deps, onSkip: (id: string) => skipped.push(id) };
  let key = (await syncCollection(request("0"), d)).syncKey;
  const r = await syncCollection(request(key), d);
  assert.deepEqual(r.changes.map((c) => c.id), ["2"]);
  key = r.syncKey;
  const again = await syncCollection(request(key), d);
  assert.deepEqual(again.changes, []);
  assert.deepEqual(skipped, ["1"]);
  source.failing.delete("1");
  source.items.get("1")!.token = "fixed";
  const fixed = await syncCollection(request(again.syncKey), d);
  assert.deepEqual(fixed.changes.map((c) => `${c.kind}:${c.id}`), ["add:1"]);
});

Deno.test("a lazy window skips an item that fails while it is written, marks it failed, and sends it as an Add once it changes", async () => {
  const { source, deps, request, store } = setup();
  source.put("1", 1);
  source.put("2", 2);
  source.failing.add("1");
  const skipped: string[] = [];
  const d = { ...deps, onSkip: (id: string) => skipped.push(id) };
  const lazy = { lazy: true };
  const drain = async (r: Awaited<ReturnType<typeof syncCollection<Note>>>) => {
    const out = r.changes.map((c) => `${c.kind}:${c.id}`);
    for await (const c of r.later?.items ?? []) out.push(`${c.kind}:${c.id}`);
    return out;
  };
  let key = (await syncCollection(request("0", lazy), d)).syncKey;
  const r = await syncCollection(request(key, lazy), d);
  assert.equal(r.later?.count, 2, "both planned, fetched while written");
  assert.deepEqual(await drain(r), ["add:2"]);
  assert.deepEqual(skipped, ["1"]);
  const held = store.syncState.items(request(key).device, "5");
  assert.equal(held.get("1")?.failed, true, "marked failed after the fact");
  assert.equal(held.get("2")?.failed, false);
  key = r.syncKey;
  const again = await syncCollection(request(key, lazy), d);
  assert.deepEqual(await drain(again), [], "not retried while unchanged");
  source.failing.delete("1");
  source.items.get("1")!.token = "fixed";
  const fixed = await syncCollection(request(again.syncKey, lazy), d);
  assert.deepEqual(await drain(fixed), ["add:1"], "an Add: the device never got it");
});

Deno.test("a changed folder validity voids the state: Status 3, then a clean start", async () => {
  const { source, deps, request } = setup();
  source.put("1", 1);
  let key = (await syncCollection(request("0"), deps)).syncKey;
  key = (await syncCollection(request(key), deps)).syncKey;
  source.validity = 2;
  source.put("2", 0);
  assert.equal((await syncCollection(request(key), deps)).status, SYNC_STATUS.InvalidSyncKey);
  const k1 = (await syncCollection(request("0"), deps)).syncKey;
  const r = await syncCollection(request(k1), deps);
  assert.deepEqual(r.changes.map((c) => c.id), ["2", "1"]);
});

Deno.test("estimateChanges() counts pending changes without writing", async () => {
  const { source, deps, request, changesOf } = setup();
  source.put("1", 1);
  source.put("2", 40);
  const key = (await syncCollection(request("0"), deps)).syncKey;
  const before = changesOf();
  const req = { device: request(key).device, collection: "5", syncKey: key };
  assert.equal(await estimateChanges({ ...req, filterType: 0 }, deps), 2);
  assert.equal(await estimateChanges({ ...req, filterType: 5 }, deps), 1);
  assert.equal(await estimateChanges({ ...req, filterType: 0, syncKey: "nope" }, deps), undefined);
  assert.equal(changesOf(), before);
});

Deno.test("later windows of a pending sync reuse the plan while the folder is unchanged, and rescan when it changed", async () => {
  const { source, deps, request } = setup();
  for (let i = 1; i <= 6; i++) source.put(String(i), 10 - i);
  let scans = 0;
  const scan = source.scan.bind(source);
  source.scan = (since, cursor) => {
    scans++;
    return scan(since, cursor);
  };
  const d = { ...deps, plans: new Map() };
  let key = (await syncCollection(request("0"), d)).syncKey;
  const seen: string[] = [];
  let r = await syncCollection(request(key, { windowSize: 2 }), d);
  seen.push(...r.changes.map((c) => c.id));
  r = await syncCollection(request(r.syncKey, { windowSize: 2 }), d);
  seen.push(...r.changes.map((c) => c.id));
  assert.equal(scans, 1);
  source.put("7", 0);
  r = await syncCollection(request(r.syncKey, { windowSize: 2 }), d);
  seen.push(...r.changes.map((c) => c.id));
  assert.equal(scans, 2, "a changed fingerprint makes it scan again");
  key = r.syncKey;
  r = await syncCollection(request(key, { windowSize: 2 }), d);
  seen.push(...r.changes.map((c) => c.id));
  assert.equal(r.moreAvailable, false);
  assert.deepEqual(seen, ["6", "5", "4", "3", "7", "2", "1"]);
});
