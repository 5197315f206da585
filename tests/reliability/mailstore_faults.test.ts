import assert from "node:assert/strict";
import { runMailstoreFaults } from "../../tools/reliability/mailstore_faults.ts";

const CYCLES = Number(Deno.env.get("PUSHBRIDGE_RELIABILITY_FAULT_CYCLES") ?? 10);

Deno.test("IMAP/SMTP down, connections cut mid-command, failing logins and a slow IMAP server: retryable answers only, then the same SyncKey carries on", async () => {
  const result = await runMailstoreFaults({ cycles: CYCLES, seed: 5 });
  console.log(result);
  assert.equal(result.errors, 0, result.notes);
  assert.equal(result.lost, 0, result.notes);
  assert.equal(result.duplicated, 0, result.notes);
});
