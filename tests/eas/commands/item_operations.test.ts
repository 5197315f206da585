import assert from "node:assert/strict";
import { base64Chunks, multipartBody, parseRange } from "../../../src/eas/commands/item_operations.ts";
import { EasStatusError } from "../../../src/eas/protocol/errors.ts";

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of stream) parts.push(p);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

async function* chunks(...parts: number[][]): AsyncIterable<Uint8Array> {
  for (const p of parts) yield new Uint8Array(p);
}

Deno.test("parseRange() reads 'first-last', clips to the content and rejects the impossible", () => {
  assert.deepEqual(parseRange(undefined, 10), { offset: 0, length: 10, explicit: false });
  assert.deepEqual(parseRange("2-5", 10), { offset: 2, length: 4, explicit: true });
  assert.deepEqual(parseRange("8-100", 10), { offset: 8, length: 2, explicit: true });
  assert.throws(() => parseRange("12-20", 10), (e) => e instanceof EasStatusError && e.status === 8);
  assert.throws(() => parseRange("a-b", 10), (e) => e instanceof EasStatusError && e.status === 8);
});

Deno.test("base64Chunks() encodes across chunk boundaries like one btoa of the whole", async () => {
  const bytes = [1, 2, 3, 4, 5, 6, 7, 250, 251, 252, 0];
  const encoded = await collect(base64Chunks(chunks(bytes.slice(0, 2), bytes.slice(2, 7), bytes.slice(7))));
  assert.equal(new TextDecoder().decode(encoded), btoa(String.fromCharCode(...bytes)));
});

Deno.test("multipartBody() writes the part table (count, offset/length pairs) before the parts", async () => {
  const wbxml = new Uint8Array([3, 1, 106, 0]);
  const body = await collect(multipartBody(wbxml, [{ length: 3, chunks: () => chunks([9, 8], [7]) }]));
  const view = new DataView(body.buffer);
  assert.equal(view.getInt32(0, true), 2);
  assert.deepEqual([view.getInt32(4, true), view.getInt32(8, true)], [20, 4]);
  assert.deepEqual([view.getInt32(12, true), view.getInt32(16, true)], [24, 3]);
  assert.deepEqual(body.slice(20), new Uint8Array([3, 1, 106, 0, 9, 8, 7]));
});
