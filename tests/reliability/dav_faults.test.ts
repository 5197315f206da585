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

// A DAV server that refuses the password IMAP accepted, or an answer cut mid-body, is a mailstore
// fault (DavAuthError / BackendUnavailableError): 503 + Retry-After, never a 401 or a 500.
Deno.test("Radicale refusing logins or cut mid-response: retryable answers only, then the same SyncKeys carry on", () =>
  check(["login-refused", "cut"]));
