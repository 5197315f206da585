import assert from "node:assert/strict";
import {
  decode,
  el,
  encode,
  encodeStream,
  type StreamElement,
  textEl,
  type WbxmlElement,
} from "../../src/wbxml/mod.ts";

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

function join(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function* items(count: number): AsyncGenerator<WbxmlElement> {
  for (let i = 0; i < count; i++) {
    yield el(
      "AirSync",
      "Add",
      textEl("AirSync", "ServerId", `1:${i}`),
      el("AirSync", "ApplicationData", textEl("Email", "Subject", `Message ${i} ${"x".repeat(100)}`)),
    );
  }
}

Deno.test("encodeStream() writes the same bytes as encode() for a lazily produced Sync window", async () => {
  const lazy: StreamElement = {
    ns: "AirSync",
    name: "Sync",
    children: [{ ns: "AirSync", name: "Commands", children: items(2000) }],
  };
  const chunks = await collect(encodeStream(lazy));
  const eager = el("AirSync", "Sync", el("AirSync", "Commands", ...await Array.fromAsync(items(2000))));
  assert.deepEqual(join(chunks), encode(eager));
  assert.ok(chunks.length > 4, `only ${chunks.length} chunks`);
  for (const c of chunks) assert.ok(c.length <= 96 * 1024, `chunk of ${c.length} bytes`);
});

Deno.test("encodeStream() passes streamed OPAQUE chunks through without holding the whole attachment", async () => {
  const piece = new Uint8Array(64 * 1024).fill(0x5A);
  const count = 80; // 5 MiB
  async function* chunks() {
    for (let i = 0; i < count; i++) yield piece;
  }
  const root: StreamElement = {
    ns: "ItemOperations",
    name: "ItemOperations",
    children: [
      textEl("ItemOperations", "Status", 1),
      {
        ns: "ItemOperations",
        name: "Response",
        children: [{
          ns: "ItemOperations",
          name: "Fetch",
          children: [{
            ns: "ItemOperations",
            name: "Properties",
            children: [{
              ns: "AirSyncBase",
              name: "Content",
              opaque: { length: piece.length * count, chunks: chunks() },
            }],
          }],
        }],
      },
    ],
  };
  const out = await collect(encodeStream(root));
  assert.equal(out.filter((c) => c === piece).length, count, "opaque chunks were copied");
  const tree = decode(join(out));
  const content = tree.children![1]!.children![0]!.children![0]!.children![0]!;
  assert.equal(content.opaque!.length, piece.length * count);
});

Deno.test("encodeStream() errors the stream when OPAQUE chunks do not add up", async () => {
  async function* short() {
    yield new Uint8Array(10);
  }
  const root: StreamElement = { ns: "ComposeMail", name: "Mime", opaque: { length: 11, chunks: short() } };
  await assert.rejects(() => collect(encodeStream(root)), /add up to 10 bytes, not 11/);
  async function* long() {
    yield new Uint8Array(12);
  }
  const over: StreamElement = { ns: "ComposeMail", name: "Mime", opaque: { length: 11, chunks: long() } };
  await assert.rejects(() => collect(encodeStream(over)), /exceed the declared 11 bytes/);
});

Deno.test("encodeStream() errors the stream on an unknown tag", async () => {
  await assert.rejects(
    () => collect(encodeStream({ ns: "AirSync", name: "Nope" })),
    /Unknown WBXML tag "AirSync:Nope"/,
  );
});
