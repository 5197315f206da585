import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { isStoreUnavailable } from "../../src/store/database.ts";
import { Store } from "../../src/store/mod.ts";

Deno.test("isStoreUnavailable() tells a locked or read-only database from a bad statement, and the locked write leaves nothing behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-busy-" });
  const store = Store.open(`${dir}/db.sqlite`);
  try {
    store.db.exec("PRAGMA busy_timeout = 50");
    const other = new DatabaseSync(`${dir}/db.sqlite`);
    other.exec("BEGIN EXCLUSIVE");
    let caught: unknown;
    try {
      store.settings.set("sieve.url", "x");
    } catch (error) {
      caught = error;
    }
    other.exec("COMMIT");
    other.close();
    assert.ok(isStoreUnavailable(caught), String(caught));
    assert.equal(store.settings.get("sieve.url"), undefined);
    assert.equal(store.db.integrityCheck(), "ok");
    let syntax: unknown;
    try {
      store.db.run("SELEKT 1");
    } catch (error) {
      syntax = error;
    }
    assert.ok(syntax !== undefined && !isStoreUnavailable(syntax));
    assert.ok(!isStoreUnavailable(new Error("database is locked")));
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
