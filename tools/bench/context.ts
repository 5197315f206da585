/** What every benchmark module receives from tools/bench/mod.ts. */
export interface BenchContext {
  /** Where JSON results and plots go (bench/results/). */
  resultsDir: string;
  /** Smaller counts for a quick run (PUSHBRIDGE_BENCH_QUICK=1). */
  quick: boolean;
}

/** Writes one benchmark's results as pretty JSON next to the others. */
export async function writeResult(ctx: BenchContext, name: string, data: unknown): Promise<void> {
  await Deno.mkdir(ctx.resultsDir, { recursive: true });
  await Deno.writeTextFile(`${ctx.resultsDir}/${name}.json`, JSON.stringify(data, null, 2) + "\n");
}

/** Prints a table with aligned columns. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  console.log(`\n${title}`);
  for (const [n, row] of all.entries()) {
    console.log(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
    if (n === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
}
