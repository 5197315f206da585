/**
 * Adds up the property-test cases `make fuzz` ran: reads the PUSHBRIDGE_FUZZ_LOG
 * file the properties append to (tests/fuzz/_runs.ts, one JSON line per fc.assert,
 * with the numRuns fast-check reports) and prints the cases per file and overall,
 * the time spent in the properties and the peak RSS of the test process.
 *
 * Usage: deno run --allow-read tools/fuzz_summary.ts <log> [--min-cases N] [--max-rss-mib M]
 * Exits 1 when a property failed, fewer than N cases ran or the peak RSS exceeded M MiB.
 */
import type { FuzzRecord } from "../tests/fuzz/_runs.ts";

/** Per-file totals of the records, in file order. */
export function summarize(
  records: FuzzRecord[],
): Map<string, { properties: number; runs: number; ms: number; failed: number }> {
  const files = new Map<string, { properties: number; runs: number; ms: number; failed: number }>();
  for (const r of records) {
    const file = r.site.replace(/:\d+$/, "");
    const entry = files.get(file) ?? { properties: 0, runs: 0, ms: 0, failed: 0 };
    entry.properties++;
    entry.runs += r.runs;
    entry.ms += r.ms;
    if (r.failed) entry.failed++;
    files.set(file, entry);
  }
  return files;
}

function option(args: string[], name: string): number | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : undefined;
}

if (import.meta.main) {
  const [path, ...rest] = Deno.args;
  if (!path) {
    console.error("usage: fuzz_summary.ts <log> [--min-cases N] [--max-rss-mib M]");
    Deno.exit(2);
  }
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    // No property recorded anything: reported below as zero cases.
  }
  const records = text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as FuzzRecord);
  const files = summarize(records);
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
  const width = Math.max(4, ...[...files.keys()].map((f) => f.length));
  console.log(`\n${"file".padEnd(width)}  properties       cases   seconds  failed`);
  for (const [file, e] of files) {
    console.log(
      `${file.padEnd(width)}  ${String(e.properties).padStart(10)}  ${
        e.runs.toLocaleString("en").padStart(10)
      }  ${(e.ms / 1000).toFixed(0).padStart(8)}  ${String(e.failed).padStart(6)}`,
    );
  }
  const total = records.reduce((sum, r) => sum + r.runs, 0);
  const failed = records.filter((r) => r.failed).length;
  const peak = Math.max(0, ...records.map((r) => r.peakRss));
  const heap = Math.max(0, ...records.map((r) => r.heapUsed));
  const rss = records.map((r) => r.rss);
  const ms = records.reduce((sum, r) => sum + r.ms, 0);
  console.log(
    `total: ${total.toLocaleString("en")} cases in ${records.length} properties, ${
      (ms / 1000).toFixed(0)
    } s in the properties, ${failed} failed`,
  );
  console.log(
    `memory: peak RSS ${mib(peak)} MiB; RSS after the first property ${
      mib(rss[0] ?? 0)
    } MiB, after the last ${mib(rss.at(-1) ?? 0)} MiB, largest ${
      mib(Math.max(0, ...rss))
    } MiB; largest heap after a property ${mib(heap)} MiB`,
  );
  const minCases = option(rest, "--min-cases");
  const maxRss = option(rest, "--max-rss-mib");
  const problems: string[] = [];
  if (failed) problems.push(`${failed} properties failed`);
  if (minCases !== undefined && total < minCases) problems.push(`fewer than ${minCases} cases ran`);
  if (maxRss !== undefined && peak > maxRss * 1024 * 1024) problems.push(`peak RSS above ${maxRss} MiB`);
  if (problems.length) {
    console.error(`fuzz: ${problems.join("; ")}`);
    Deno.exit(1);
  }
}
