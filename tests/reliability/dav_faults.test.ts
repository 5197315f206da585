import assert from "node:assert/strict";
import { type DavFaultKind, runDavFaults } from "../../tools/reliability/dav_faults.ts";

const CYCLES = Number(Deno.env.get("PUSHBRIDGE_RELIABILITY_DAV_CYCLES") ?? 2);

async function check(kinds: DavFaultKind[]): Promise<void> {
  const result = await runDavFaults({ cycles: CYCLES, kinds });
  console.log(result);
  assert.equal(result.errors, 0, result.notes);
  assert.equal(result.lost, 0, result.notes);
  assert.equal(result.duplicated, 0, result.notes);
}

Deno.test("Radicale down or slow: retryable answers only, the DAV folders stay, a held Ping wakes after, then the same SyncKeys and ClientId carry on", () =>
  check(["down", "slow"]));

// Known failure (reported; the fix belongs in src/bridge/dav and the HTTP error mapping): a DAV
// server that refuses the password IMAP accepted throws BackendAuthError, and an answer cut
// mid-body throws the body reader's TypeError; both escape as HTTP 500 instead of 503 or Sync
// Status 16. Nothing is lost or duplicated and sync resumes. Remove `ignore` once they map.
Deno.test({
  name:
    "Radicale refusing logins or cut mid-response: retryable answers only, then the same SyncKeys carry on",
  ignore: true,
  fn: () => check(["login-refused", "cut"]),
});
