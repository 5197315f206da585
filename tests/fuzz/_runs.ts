/**
 * The one source of run counts for every property test (tests/fuzz, tests/mime/property,
 * tests/wbxml/fuzz and round_trip). PUSHBRIDGE_FUZZ_RUNS is the count of a full-share
 * property: 2000 by default so `make test` stays fast, larger under `make fuzz`.
 *
 * When PUSHBRIDGE_FUZZ_LOG names a file, every property run with {@link fuzzParams}
 * appends one JSON line with the runs fast-check reports having executed, for
 * tools/fuzz_summary.ts to add up per file and overall.
 */
import fc from "fast-check";

const BASE = Number(Deno.env.get("PUSHBRIDGE_FUZZ_RUNS") ?? 2000);
const LOG = Deno.env.get("PUSHBRIDGE_FUZZ_LOG");

/** Runs of a property that gets `share` of the base count (at least `min`). */
export function runs(share = 1, min = 1): number {
  return Math.max(min, Math.round(BASE * share));
}

/** Runs of a cheap, pure property. */
export const RUNS = runs(1);

/** Runs of a property that does I/O per case (HTTP requests): a tenth, at least 50. */
export const NETWORK_RUNS = runs(1 / 10, 50);

/** One line of the PUSHBRIDGE_FUZZ_LOG file. */
export interface FuzzRecord {
  /** `tests/...file.ts:line` of the fc.assert call. */
  site: string;
  /** Runs fast-check executed (RunDetails.numRuns), skipped ones not included. */
  runs: number;
  /** The count asked for. */
  planned: number;
  failed: boolean;
  ms: number;
  /** Peak resident set size of the test process so far (VmHWM, type checking included), in bytes. */
  peakRss: number;
  /** Resident set size after the property, in bytes. */
  rss: number;
  heapUsed: number;
}

/**
 * Parameters of one property: `share` of the base run count (NETWORK_RUNS for
 * "network"), and a plugin that
 * records what fast-check actually ran (when PUSHBRIDGE_FUZZ_LOG is set).
 */
export function fuzzParams<Ts>(share: number | "network" = 1): fc.Parameters<Ts> {
  const numRuns = share === "network" ? NETWORK_RUNS : runs(share);
  if (!LOG) return { numRuns };
  const site = callSite();
  const counter: fc.Plugin<Ts> = () => {
    const started = performance.now();
    return {
      onAllRunsComplete: (details) => {
        const record: FuzzRecord = {
          site,
          runs: details.numRuns,
          planned: numRuns,
          failed: details.failed,
          ms: Math.round(performance.now() - started),
          peakRss: peakRss(),
          rss: Deno.memoryUsage().rss,
          heapUsed: Deno.memoryUsage().heapUsed,
        };
        Deno.writeTextFileSync(LOG, JSON.stringify(record) + "\n", { append: true });
      },
    };
  };
  return { numRuns, plugins: [counter] };
}

/** The test file and line that asked for the parameters. */
function callSite(): string {
  const frames = new Error().stack?.split("\n") ?? [];
  const frame = frames.find((f) => /\/tests\//.test(f) && !/_runs\.ts/.test(f)) ?? "";
  return /(tests\/[^\s)]+?):(\d+):\d+/.exec(frame)?.slice(1, 3).join(":") ?? "unknown";
}

/** VmHWM of /proc/self/status where there is one, else the current RSS. */
function peakRss(): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // Not Linux: the current RSS is the best available figure.
  }
  return Deno.memoryUsage().rss;
}

/** The slowest a parser may take on one input of the sizes generated here. */
export const SLOWEST_MS = 250;

/** Times one call and fails the property when it is slower than SLOWEST_MS (super-linear backtracking). */
export function timed<T>(what: string, work: () => T): T {
  const started = performance.now();
  let result: { value: T } | { error: unknown };
  try {
    result = { value: work() };
  } catch (error) {
    result = { error };
  }
  const ms = performance.now() - started;
  if (ms > SLOWEST_MS) throw new Error(`${what} took ${ms.toFixed(0)} ms`);
  if ("error" in result) throw result.error;
  return result.value;
}
