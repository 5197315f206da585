import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  BUSY_TIMEOUT_MS,
  isStoreUnavailable,
  Store,
  type StoreFault,
  StoreUnavailableError,
} from "../../src/store/mod.ts";
import { DataPartition, mountUnavailable } from "../../tools/reliability/data_partition.ts";
import { sighting } from "./_sighting.ts";

const noMount = mountUnavailable();

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  assert.fail("expected an error");
}

function assertFault(error: unknown, ...faults: StoreFault[]): void {
  assert.ok(error instanceof StoreUnavailableError, String(error));
  assert.ok(faults.includes(error.fault), `fault '${error.fault}', expected ${faults.join(" or ")}`);
  assert.ok(isStoreUnavailable(error));
}

/** A write of a few hundred KB in one transaction (a long sync generation's worth of rows). */
function bigWrite(store: Store, tag: string): void {
  store.db.transaction(() => {
    for (let i = 0; i < 40; i++) store.settings.set(`${tag}.${i}`, `${tag}:`.padEnd(20_000, "x"));
  });
}

function settingsCount(store: Store): number {
  return Object.keys(store.settings.all()).length;
}

/** Runs `fn` with a store on a fresh 8 MB partition holding one committed 40-row transaction. */
async function onPartition(fn: (partition: DataPartition, store: { current: Store }) => Promise<void>) {
  const partition = await DataPartition.create(8);
  const holder: { current?: Store } = {};
  try {
    holder.current = Store.open(`${partition.dir}/db.sqlite`);
    bigWrite(holder.current, "before");
    holder.current.devices.sighted(sighting("KNOWN"), 1_000);
    await fn(partition, holder as { current: Store });
  } finally {
    holder.current?.close();
    await partition.destroy();
  }
}

Deno.test("a store locked by another writer stalls one write for the busy timeout, refuses the next ones at once, and carries on when the lock goes", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-locked-" });
  const store = Store.open(`${dir}/db.sqlite`);
  const other = new DatabaseSync(`${dir}/db.sqlite`);
  try {
    store.devices.sighted(sighting("KNOWN"), 1_000);
    other.exec("BEGIN IMMEDIATE");
    let started = performance.now();
    assertFault(thrown(() => store.settings.set("a", "1")), "busy");
    const firstMs = performance.now() - started;
    assert.ok(
      firstMs >= BUSY_TIMEOUT_MS - 20 && firstMs < BUSY_TIMEOUT_MS + 500,
      `first write ${firstMs} ms`,
    );
    assert.ok(store.db.contended);
    started = performance.now();
    for (let i = 0; i < 10; i++) assertFault(thrown(() => store.settings.set("a", "1")), "busy");
    const nextMs = (performance.now() - started) / 10;
    assert.ok(nextMs < 60, `later writes took ${nextMs} ms each (the event loop must not stall)`);
    // Reads go on (WAL: readers never wait for the writer).
    assert.equal(store.devices.find("alice", "KNOWN")?.deviceId, "KNOWN");
    // A known device's bookkeeping refresh is skipped, not failed; a new device cannot be recorded.
    assert.equal(store.devices.sighted(sighting("KNOWN"), 1_000 + 3_600_000).lastSeen, 1_000);
    assertFault(thrown(() => store.devices.sighted(sighting("NEW"))), "busy");
    other.exec("COMMIT");
    store.settings.set("a", "1");
    assert.equal(store.db.contended, false);
    assert.equal(store.settings.get("a"), "1");
    assert.equal(store.db.integrityCheck(), "ok");
  } finally {
    other.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a full data partition refuses a transaction with nothing of it written, and it goes through once space returns",
  ignore: noMount !== undefined,
  fn: () =>
    onPartition(async (partition, { current: store }) => {
      const before = settingsCount(store);
      await partition.fill();
      // The WAL may still have room for a write or two; it cannot have room for many.
      let refused: unknown;
      for (let i = 0; i < 50 && refused === undefined; i++) {
        try {
          bigWrite(store, `full${i}`);
        } catch (error) {
          refused = error;
        }
      }
      assertFault(refused, "full", "io");
      const landed = settingsCount(store);
      assert.equal((landed - before) % 40, 0, "only whole transactions landed");
      assert.equal(store.db.integrityCheck(), "ok");
      // Still full: the same error again (a failed ROLLBACK after SQLite's own must not mask it).
      assertFault(thrown(() => bigWrite(store, "again")), "full", "io");
      await partition.free();
      bigWrite(store, "after");
      assert.equal(settingsCount(store), landed + 40);
      assert.equal(store.db.integrityCheck(), "ok");
    }),
});

Deno.test({
  name:
    "a data partition turned read-only under the open store refuses writes, still answers reads, and the repaired file is whole",
  ignore: noMount !== undefined,
  fn: () =>
    onPartition(async (partition, holder) => {
      const store = holder.current;
      await partition.breakToReadOnly();
      assertFault(thrown(() => bigWrite(store, "ro")), "read-only", "io");
      assertFault(thrown(() => store.settings.set("x", "y")), "read-only", "io");
      assert.equal(store.devices.find("alice", "KNOWN")?.deviceId, "KNOWN");
      assert.equal(store.settings.get("before.3")?.slice(0, 7), "before:");
      store.close();
      await partition.repair();
      const reopened = holder.current = Store.open(`${partition.dir}/db.sqlite`);
      assert.equal(reopened.db.integrityCheck(), "ok");
      assert.equal(
        settingsCount(reopened),
        40,
        "the committed transaction is there, the refused ones are not",
      );
      bigWrite(reopened, "after");
      assert.equal(settingsCount(reopened), 80);
    }),
});

Deno.test("iterate() stopped early leaves no read open that would pin the WAL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-iterate-" });
  const store = Store.open(`${dir}/db.sqlite`);
  const other = new DatabaseSync(`${dir}/db.sqlite`);
  try {
    for (let i = 0; i < 5; i++) store.settings.set(`k${i}`, "v");
    for (const _row of store.db.iterate("SELECT key FROM settings")) break;
    other.exec("INSERT INTO settings (key, value) VALUES ('other', 'v')");
    const checkpoint = other.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as { busy: number };
    assert.equal(checkpoint.busy, 0, "a reader still holds an old snapshot");
  } finally {
    other.close();
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
