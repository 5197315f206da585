/**
 * `make reliability`: runs the full fault and load suite and prints the
 * table (scenario, cycles, lost, duplicated, errors, recovery time); also
 * writes it to tools/reliability/RESULTS.md with --write.
 *
 *   deno run -A tools/reliability/mod.ts [--cycles 1000] [--kills 100] [--fault-cycles 50]
 *     [--storage-cycles 30] [--dav-cycles 50]
 *     [--pings 10000] [--syncers 100] [--duration 1800] [--only NAME] [--write]
 */
import { parseArgs } from "node:util";
import { runCrashes } from "./crash.ts";
import { runDavFaults } from "./dav_faults.ts";
import { runLoad } from "./load.ts";
import { runLostResponses } from "./lost_responses.ts";
import { runMailstoreFaults } from "./mailstore_faults.ts";
import { runStorageFaults } from "./storage_faults.ts";
import { formatTable, type ScenarioResult } from "./result.ts";

const { values } = parseArgs({
  options: {
    cycles: { type: "string", default: "1000" },
    kills: { type: "string", default: "100" },
    "fault-cycles": { type: "string", default: "50" },
    "storage-cycles": { type: "string", default: "30" },
    "dav-cycles": { type: "string", default: "50" },
    pings: { type: "string", default: "1000" },
    syncers: { type: "string", default: "20" },
    duration: { type: "string", default: "60" },
    only: { type: "string" },
    write: { type: "boolean", default: false },
  },
});

const scenarios: Record<string, () => Promise<ScenarioResult>> = {
  "lost-responses": () => runLostResponses({ cycles: Number(values.cycles), seed: 1, reportEvery: 100 }),
  crashes: () => runCrashes({ kills: Number(values.kills), seed: 2 }),
  "mailstore-faults": () => runMailstoreFaults({ cycles: Number(values["fault-cycles"]), seed: 3 }),
  "dav-faults": () => runDavFaults({ cycles: Number(values["dav-cycles"]) }),
  "storage-faults": () => runStorageFaults({ cycles: Number(values["storage-cycles"]) }),
  load: () =>
    runLoad({
      pings: Number(values.pings),
      syncers: Number(values.syncers),
      durationSeconds: Number(values.duration),
    }),
};

const rows: ScenarioResult[] = [];
let failed = false;
for (const [name, run] of Object.entries(scenarios)) {
  if (values.only && values.only !== name) continue;
  console.error(`reliability: ${name} ...`);
  try {
    rows.push(await run());
  } catch (error) {
    failed = true;
    rows.push({
      scenario: name,
      cycles: 0,
      lost: 0,
      duplicated: 0,
      errors: 1,
      recoveryMs: 0,
      notes: `aborted: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
}
const table = formatTable(rows);
console.log(table);
if (values.write) {
  const path = new URL("./RESULTS.md", import.meta.url);
  const text = await Deno.readTextFile(path).catch(() => "");
  const stamp = `Run ${
    new Date().toISOString().slice(0, 16)
  }Z, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`;
  await Deno.writeTextFile(path, `${text.trimEnd()}\n\n### ${stamp}\n\n${table}\n`);
}
if (failed || rows.some((r) => r.lost || r.duplicated || r.errors)) Deno.exit(1);
