import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import type { GalEntry } from "../../../src/eas/commands/search.ts";

/** A loader whose loads the test completes or fails by hand, one generation of people per load. */
function manualLoader() {
  const pending: { resolve: (e: GalEntry[]) => void; reject: (e: Error) => void }[] = [];
  let loads = 0;
  const load = () => {
    loads++;
    return new Promise<GalEntry[]>((resolve, reject) => pending.push({ resolve, reject }));
  };
  const people = (generation: number): GalEntry[] => [
    { displayName: `Ada ${generation}`, email: `ada${generation}@example.test` },
  ];
  return {
    load,
    loads: () => loads,
    finish: (generation: number) => pending.shift()!.resolve(people(generation)),
    fail: () => pending.shift()!.reject(new Error("Directory down")),
  };
}

const names = (entries: GalEntry[]) => entries.map((e) => e.displayName);

Deno.test("CachedGalDirectory answers from its copy within the TTL and refreshes ahead until maxAge", async () => {
  const loader = manualLoader();
  let now = 0;
  const gal = new CachedGalDirectory(loader.load, { ttlMs: 60_000, maxAgeMs: 300_000, now: () => now });
  const first = gal.search("ada", 10);
  loader.finish(1);
  assert.deepEqual(names(await first), ["Ada 1"]);
  now = 59_000;
  assert.deepEqual(names(await gal.search("ada", 10)), ["Ada 1"]);
  assert.equal(loader.loads(), 1);

  // Past the TTL the old copy answers at once while one reload runs.
  now = 61_000;
  assert.deepEqual(names(await gal.search("ada", 10)), ["Ada 1"]);
  assert.deepEqual(names(await gal.search("ada", 10)), ["Ada 1"]);
  assert.equal(loader.loads(), 2);
  loader.finish(2);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(names(await gal.search("ada", 10)), ["Ada 2"]);
  assert.equal(loader.loads(), 2);
});

Deno.test("CachedGalDirectory never serves a copy older than maxAge, also when reloads fail", async () => {
  const loader = manualLoader();
  let now = 0;
  const gal = new CachedGalDirectory(loader.load, { ttlMs: 60_000, maxAgeMs: 300_000, now: () => now });
  const first = gal.lookup("ada1@example.test");
  loader.finish(1);
  assert.equal((await first)?.displayName, "Ada 1");

  // A failed background reload leaves the copy answering while it is younger than maxAge.
  now = 100_000;
  assert.equal((await gal.lookup("ada1@example.test"))?.displayName, "Ada 1");
  loader.fail();
  await new Promise((resolve) => setTimeout(resolve, 0));
  now = 299_000;
  assert.equal((await gal.lookup("ada1@example.test"))?.displayName, "Ada 1");
  loader.fail();
  await new Promise((resolve) => setTimeout(resolve, 0));

  // Past maxAge the request waits for the reload, and its failure is the answer.
  now = 301_000;
  const stale = gal.search("ada", 10);
  loader.fail();
  await assert.rejects(stale, /Directory down/);
  const fresh = gal.search("ada", 10);
  loader.finish(3);
  assert.deepEqual(names(await fresh), ["Ada 3"]);
  assert.equal(loader.loads(), 5);
});
