import assert from "node:assert/strict";
import {
  decode,
  el,
  encode,
  opaqueEl,
  textEl,
  type WbxmlElement,
  WbxmlSyntaxError,
} from "../../src/wbxml/mod.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

Deno.test("encode() writes the header, page switches only when needed, and content flags", () => {
  const tree = el(
    "FolderHierarchy",
    "FolderSync",
    textEl("FolderHierarchy", "SyncKey", "0"),
  );
  assert.deepEqual(
    encode(tree),
    bytes(0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, 0x30, 0x00, 0x01, 0x01),
  );
});

Deno.test("decode() reads what encode() wrote, across pages", () => {
  const tree: WbxmlElement = el(
    "AirSync",
    "Sync",
    el(
      "AirSync",
      "Collections",
      el(
        "AirSync",
        "Collection",
        textEl("AirSync", "SyncKey", "{a7-1}"),
        el("AirSync", "Options", textEl("AirSyncBase", "Type", 2), textEl("AirSync", "MIMESupport", 0)),
        el("AirSync", "GetChanges"),
        opaqueEl("Email2", "ConversationId", bytes(1, 2, 3, 0, 255)),
        textEl("Email", "Subject", "Grüße – 日本"),
      ),
    ),
  );
  assert.deepEqual(decode(encode(tree)), tree);
});

Deno.test("decode() returns OPAQUE as a view of the input, not a copy", () => {
  const input = encode(opaqueEl("ComposeMail", "Mime", new Uint8Array(300).fill(7)));
  const tree = decode(input);
  assert.equal(tree.opaque!.buffer, input.buffer);
  assert.equal(tree.opaque!.length, 300);
});

Deno.test("encode() names an unknown tag in a plain Error", () => {
  assert.throws(() => encode(el("AirSync", "Bogus")), {
    name: "Error",
    message: 'Unknown WBXML tag "AirSync:Bogus"',
  });
  assert.throws(() => encode(el("Nope", "Sync")), { message: 'Unknown WBXML tag "Nope:Sync"' });
});

Deno.test("decode() rejects a string table clearly", () => {
  assert.throws(
    () => decode(bytes(0x03, 0x01, 0x6A, 0x02, 0x41, 0x00, 0x45, 0x01)),
    (e: unknown) =>
      e instanceof WbxmlSyntaxError && e.offset === 3 && /String tables are not used by EAS/.test(e.message),
  );
});
