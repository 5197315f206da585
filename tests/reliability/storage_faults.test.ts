import assert from "node:assert/strict";
import { mountUnavailable } from "../../tools/reliability/data_partition.ts";
import { runStorageFaults } from "../../tools/reliability/storage_faults.ts";

const CYCLES = Number(Deno.env.get("PUSHBRIDGE_RELIABILITY_STORAGE_CYCLES") ?? 3);
const noMount = mountUnavailable();

Deno.test({
  name:
    "a locked SQLite file, a full partition and a read-only partition: the held Ping and reads go on, writes get 503 + Retry-After, then the same SyncKey carries on with nothing lost",
  // Each fault needs a partition of its own (loop-mounted ext4): root only.
  ignore: noMount !== undefined,
  async fn() {
    const result = await runStorageFaults({ cycles: CYCLES });
    console.log(result);
    assert.equal(result.errors, 0, result.notes);
    assert.equal(result.lost, 0, result.notes);
    assert.equal(result.duplicated, 0, result.notes);
    assert.ok(/[1-9]\d* Syncs refused with 503/.test(result.notes), `no fault was felt: ${result.notes}`);
  },
});
