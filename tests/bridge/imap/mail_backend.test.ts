import assert from "node:assert/strict";
import { batchesBySize, uidSet } from "../../../src/bridge/imap/mail_backend.ts";

Deno.test("uidSet() compresses ids into IMAP ranges", () => {
  assert.equal(uidSet(["9", "3", "4", "5", "7", "4"]), "3:5,7,9");
  assert.equal(uidSet([]), "");
});

Deno.test("batchesBySize() keeps each FETCH under the byte limit, a large item alone", () => {
  const sizes = new Map([[1, 40], [2, 40], [3, 40], [4, 500], [5, 10]]);
  assert.deepEqual(batchesBySize(["1", "2", "3", "4", "5"], sizes, 100), [["1", "2"], ["3"], ["4"], ["5"]]);
});

Deno.test("batchesBySize() also caps the number of messages per FETCH", () => {
  const sizes = new Map([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
  assert.deepEqual(batchesBySize(["1", "2", "3", "4", "5"], sizes, 100, 2), [["1", "2"], ["3", "4"], ["5"]]);
});
