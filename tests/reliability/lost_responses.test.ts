import assert from "node:assert/strict";
import { runLostResponses } from "../../tools/reliability/lost_responses.ts";

// `make reliability` runs 1,000 cycles; `make test` a short version.
const CYCLES = Number(Deno.env.get("PUSHBRIDGE_RELIABILITY_CYCLES") ?? 50);

Deno.test("dropped, truncated and delayed responses lose and duplicate nothing on either side over mixed changes", async () => {
  const result = await runLostResponses({ cycles: CYCLES, seed: 7 });
  console.log(result);
  assert.equal(result.lost, 0, result.notes);
  assert.equal(result.duplicated, 0, result.notes);
  assert.equal(result.errors, 0, `full resyncs: ${result.notes}`);
  // The faults really happened.
  assert.match(result.notes, /"droppedResponses":[1-9]/);
  assert.match(result.notes, /"truncated":[1-9]/);
});
