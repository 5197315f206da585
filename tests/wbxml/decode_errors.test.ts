import assert from "node:assert/strict";
import { decode, WbxmlSyntaxError } from "../../src/wbxml/mod.ts";

const body = (...values: number[]) => new Uint8Array([0x03, 0x01, 0x6A, 0x00, ...values]);

function rejects(input: Uint8Array, offset: number, pattern: RegExp, limits = {}): void {
  assert.throws(() => decode(input, limits), (error: unknown) => {
    assert.ok(error instanceof WbxmlSyntaxError, `not a WbxmlSyntaxError: ${error}`);
    assert.ok(error instanceof SyntaxError);
    assert.match(error.message, pattern);
    assert.equal(error.offset, offset, error.message);
    assert.ok(error.expected.length > 0);
    return true;
  });
}

Deno.test("decode() rejects a truncated header", () =>
  rejects(new Uint8Array([0x03, 0x01]), 2, /Truncated WBXML header/));
Deno.test("decode() rejects another WBXML version", () =>
  rejects(new Uint8Array([0x02, 0x01, 0x6A, 0x00, 0x45, 0x01]), 0, /version 0x02/));
Deno.test("decode() rejects a charset other than UTF-8", () =>
  rejects(new Uint8Array([0x03, 0x01, 0x04, 0x00, 0x45, 0x01]), 2, /charset MIBenum 4/));
Deno.test("decode() rejects an empty body", () => rejects(body(), 4, /No root element/));
Deno.test("decode() rejects a truncated element", () =>
  rejects(body(0x45, 0x5C), 6, /"AirSync:Collections" is not closed/));
Deno.test("decode() rejects an unknown tag", () =>
  rejects(body(0x3F), 4, /Unknown tag 0x3F in code page 0 \(AirSync\)/));
Deno.test("decode() rejects an unknown code page", () =>
  rejects(body(0x00, 0x1A, 0x45, 0x01), 5, /Unknown code page 26/));
Deno.test("decode() rejects attributes", () => rejects(body(0xC5, 0x01), 4, /attributes/));
Deno.test("decode() rejects a string table reference", () =>
  rejects(body(0x45, 0x83, 0x00, 0x01), 5, /STR_T/));
Deno.test("decode() rejects an unterminated inline string", () =>
  rejects(body(0x45, 0x03, 0x41, 0x42), 6, /Unterminated inline string/));
Deno.test("decode() rejects invalid UTF-8", () =>
  rejects(body(0x45, 0x03, 0xFF, 0xFE, 0x00, 0x01), 6, /Invalid UTF-8/));
Deno.test("decode() rejects a truncated OPAQUE", () =>
  rejects(body(0x45, 0xC3, 0x05, 0x41, 0x01), 7, /Truncated OPAQUE: 5 bytes declared, 2 present/));
Deno.test("decode() rejects an OPAQUE length longer than 5 bytes", () =>
  rejects(body(0x45, 0xC3, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01), 6, /longer than 5 bytes/));
Deno.test("decode() rejects trailing bytes", () => rejects(body(0x45, 0x01, 0x45), 6, /Trailing bytes/));
Deno.test("decode() rejects a second END", () => rejects(body(0x05, 0x01), 5, /Trailing bytes/));
Deno.test("decode() rejects mixed content", () =>
  rejects(body(0x45, 0x03, 0x41, 0x00, 0x4B, 0x01, 0x01), 8, /Mixed content/));
Deno.test("decode() rejects text outside the root", () =>
  rejects(body(0x03, 0x41, 0x00), 4, /outside the root/));

Deno.test("decode() enforces each limit from limits.ts", () => {
  const nested = body(...new Array(10).fill(0x45), ...new Array(10).fill(0x01));
  rejects(nested, 8, /Nesting deeper than 4/, { maxDepth: 4 });
  rejects(body(0x45, 0x05, 0x05, 0x05, 0x01), 7, /More than 3 tokens/, { maxTokens: 3 });
  rejects(body(0x45, 0x03, 0x41, 0x41, 0x41, 0x00, 0x01), 6, /Inline string of 3 bytes/, {
    maxStringBytes: 2,
  });
  rejects(body(0x45, 0xC3, 0x03, 1, 2, 3, 0x01), 5, /OPAQUE of 3 bytes/, { maxOpaqueBytes: 2 });
  rejects(body(0x45, 0x01), 5, /Body of 6 bytes exceeds the limit of 5/, { maxBodyBytes: 5 });
});

Deno.test("decode() reads multi-byte OPAQUE lengths", () => {
  const data = new Uint8Array(200).fill(9);
  const tree = decode(body(0x00, 0x15, 0x50, 0xC3, 0x81, 0x48, ...data, 0x01));
  assert.equal(tree.name, "Mime");
  assert.equal(tree.opaque!.length, 200);
});

Deno.test("decode() keeps heap growth within a constant factor of the input", () => {
  const count = 200_000;
  const input = new Uint8Array(6 + count);
  input.set([0x03, 0x01, 0x6A, 0x00, 0x45]);
  input.fill(0x0B, 5, 5 + count);
  input[5 + count] = 0x01;
  const before = Deno.memoryUsage().heapUsed;
  const tree = decode(input);
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(tree.children!.length, count);
  assert.ok(grown < 128 * input.length, `heap grew by ${grown} bytes for ${input.length} bytes of input`);
});

Deno.test("decode() joins many tiny OPAQUE blocks in linear time", () => {
  const blocks = 100_000;
  const input = new Uint8Array(8 + 3 * blocks);
  input.set([0x03, 0x01, 0x6A, 0x00, 0x00, 0x15, 0x50]);
  for (let i = 0; i < blocks; i++) input.set([0xC3, 0x01, i & 0xFF], 7 + 3 * i);
  input[input.length - 1] = 0x01;
  const started = performance.now();
  const tree = decode(input);
  assert.equal(tree.opaque!.length, blocks);
  assert.equal(tree.opaque![257], 1);
  assert.ok(performance.now() - started < 1000);
});
