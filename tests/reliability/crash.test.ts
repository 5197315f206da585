import assert from "node:assert/strict";
import { runCrashes } from "../../tools/reliability/crash.ts";

// `make reliability` kills the box 100 times; `make test` a short version.
const KILLS = Number(Deno.env.get("PUSHBRIDGE_RELIABILITY_KILLS") ?? 10);

Deno.test("SIGKILL at random moments of Sync, SendMail, MoveItems and FolderSync: intact database, no resync, nothing sent twice or lost", async () => {
  const result = await runCrashes({ kills: KILLS, seed: 11 });
  console.log(result);
  assert.equal(result.cycles, KILLS);
  assert.equal(result.errors, 0, result.notes);
  assert.equal(result.lost, 0, result.notes);
  // A SendMail killed between the SMTP server's acceptance and the dedup record may go out twice
  // (at-least-once; RESULTS.md "Known limits"): any other duplicate fails.
  assert.equal(result.duplicated - (result.duplicatesInSendWindow ?? 0), 0, result.notes);
});
