import assert from "node:assert/strict";
import fc from "fast-check";
import { decode, encode, fromXml, WbxmlSyntaxError } from "../../src/wbxml/mod.ts";
import { fuzzParams } from "../fuzz/_runs.ts";

const fixtures = new URL("../fixtures/wbxml/", import.meta.url);
const seeds = [...Deno.readDirSync(fixtures)]
  .filter((e) => e.name.endsWith(".xml"))
  .map((e) => encode(fromXml(Deno.readTextFileSync(new URL(e.name, fixtures)))));

/** Mutations of a valid body: flip, insert, delete, truncate, duplicate a slice. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("repeat" as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
);

function mutate(
  seed: Uint8Array,
  steps: { kind: string; at: number; byte?: number; bytes?: Uint8Array; count?: number }[],
): Uint8Array {
  let out = Array.from(seed);
  for (const m of steps) {
    const at = m.at % (out.length + 1);
    if (m.kind === "set" && out.length) out[at % out.length] = m.byte!;
    else if (m.kind === "insert") out.splice(at, 0, ...m.bytes!);
    else if (m.kind === "delete") out.splice(at, m.count!);
    else if (m.kind === "truncate") out = out.slice(0, at);
    else if (m.kind === "repeat") out.splice(at, 0, ...out.slice(at, at + m.count!));
  }
  return new Uint8Array(out);
}

Deno.test("decode() of mutated valid bodies either succeeds or throws WbxmlSyntaxError, quickly and in bounded memory", () => {
  const memoryBefore = Deno.memoryUsage().heapUsed;
  let slowest = 0;
  fc.assert(
    fc.property(
      fc.nat({ max: seeds.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 6 }),
      (i, steps) => {
        const input = mutate(seeds[i]!, steps);
        const started = performance.now();
        try {
          const tree = decode(input);
          // Whatever decodes must encode again and decode to the same tree.
          assert.deepEqual(decode(encode(tree)), tree);
        } catch (error) {
          if (!(error instanceof WbxmlSyntaxError)) throw error;
          assert.ok(
            error.offset >= 0 && error.offset <= input.length,
            `offset ${error.offset} of ${input.length}`,
          );
        }
        slowest = Math.max(slowest, performance.now() - started);
      },
    ),
    fuzzParams(),
  );
  assert.ok(slowest < 250, `slowest decode took ${slowest} ms`);
  assert.ok(Deno.memoryUsage().heapUsed - memoryBefore < 256 * 1024 * 1024, "heap grew by more than 256 MiB");
});

Deno.test("decode() of random bytes after a valid header only throws WbxmlSyntaxError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      const input = new Uint8Array([0x03, 0x01, 0x6A, 0x00, ...tail]);
      try {
        decode(input);
      } catch (error) {
        if (!(error instanceof WbxmlSyntaxError)) throw error;
      }
    }),
    fuzzParams(),
  );
});

Deno.test("decode() rejects a huge declared OPAQUE without allocating it", () => {
  const input = new Uint8Array([0x03, 0x01, 0x6A, 0x00, 0x45, 0xC3, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F]);
  assert.throws(() => decode(input), WbxmlSyntaxError);
});
