/**
 * `make bench`: runs every benchmark module in this folder (files ending in
 * `_bench.ts`, each exporting `bench(ctx)`), one after another so they do not
 * disturb each other's figures. `deno task bench -- wbxml push` runs only the
 * named ones.
 */
import type { BenchContext } from "./context.ts";

const here = new URL(".", import.meta.url);
const only = Deno.args.filter((a) => a !== "--");
const names: string[] = [];
for await (const entry of Deno.readDir(here)) {
  if (entry.isFile && entry.name.endsWith("_bench.ts")) names.push(entry.name);
}
names.sort();
const selected = only.length ? names.filter((n) => only.some((o) => n.startsWith(o))) : names;
const ctx: BenchContext = {
  resultsDir: new URL("../../bench/results", import.meta.url).pathname,
  quick: Deno.env.get("PUSHBRIDGE_BENCH_QUICK") === "1",
};
console.log(
  `Benchmarks on ${Deno.hostname()} (${navigator.hardwareConcurrency} cores, ${Deno.build.target}), ${
    new Date().toISOString()
  }`,
);
let failed = 0;
for (const name of selected) {
  console.log(`\n=== ${name.replace(/_bench\.ts$/, "")} ===`);
  try {
    const module = await import(new URL(name, here).href) as { bench(ctx: BenchContext): Promise<void> };
    await module.bench(ctx);
  } catch (error) {
    failed++;
    console.error(`benchmark ${name} failed: ${error instanceof Error ? error.stack : error}`);
  }
}
if (failed) Deno.exit(1);
