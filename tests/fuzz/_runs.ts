/**
 * Run counts of the property tests: small by default so `make test` stays
 * fast, PUSHBRIDGE_FUZZ_RUNS (1,000,000 under `make fuzz`) when set.
 */

/** Runs of a cheap, pure property. */
export const RUNS = Number(Deno.env.get("PUSHBRIDGE_FUZZ_RUNS") ?? 2000);

/** Runs of a property that does I/O per case (HTTP requests): a tenth, at least 50. */
export const NETWORK_RUNS = Math.max(
  50,
  Math.floor(Number(Deno.env.get("PUSHBRIDGE_FUZZ_RUNS") ?? 2000) / 10),
);

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
