import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CODE_PAGES,
  decode,
  encode,
  encodeStream,
  fromXml,
  toXml,
  type WbxmlElement,
} from "../../src/wbxml/mod.ts";
import { fuzzParams } from "../fuzz/_runs.ts";

const tags = CODE_PAGES.flatMap((p) => Object.keys(p.tokens).map((name) => ({ ns: p.namespace, name })));

/** Random trees over every tag of every page, with text (no NUL), opaque bytes or children. */
const tree: fc.Arbitrary<WbxmlElement> = fc.letrec<{ node: WbxmlElement }>((tie) => ({
  node: fc.tuple(
    fc.constantFrom(...tags),
    fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constant({}),
      fc.string({ minLength: 1, unit: "grapheme" }).filter((s) => !s.includes("\0")).map((text) => ({
        text,
      })),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((opaque) => ({ opaque })),
      fc.array(tie("node"), { minLength: 1, maxLength: 4 }).map((children) => ({ children })),
    ),
  ).map(([tag, content]) => ({ ...tag, ...content })),
})).node;

Deno.test("decode(encode(x)) equals x for random trees over every code page", () => {
  fc.assert(fc.property(tree, (x) => assert.deepEqual(decode(encode(x)), x)), fuzzParams(1 / 4));
});

Deno.test("fromXml(toXml(x)) equals x for random trees, in spec and libwbxml names", () => {
  fc.assert(
    fc.property(tree, (x) => {
      assert.deepEqual(fromXml(toXml(x)), x);
      assert.deepEqual(fromXml(toXml(x, { names: "libwbxml", indent: "" })), x);
    }),
    fuzzParams(1 / 4),
  );
});

Deno.test("encodeStream() writes the same bytes as encode() for random trees", async () => {
  await fc.assert(
    fc.asyncProperty(tree, async (x) => {
      const streamed = new Uint8Array(await new Response(encodeStream(x)).arrayBuffer());
      assert.deepEqual(decode(streamed), decode(encode(x)));
    }),
    fuzzParams(0.15),
  );
});
