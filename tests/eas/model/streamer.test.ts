import assert from "node:assert/strict";
import {
  type Email,
  EMAIL_SCHEMA,
  fromElements,
  ModelSyntaxError,
  type ObjectSchema,
  parseEasDate,
  toElements,
} from "../../../src/eas/model/mod.ts";
import type { WbxmlElement } from "../../../src/wbxml/tree.ts";

const names = (elements: WbxmlElement[]) => elements.map((e) => `${e.ns}:${e.name}`);

Deno.test("toElements() writes an Email in table order with EAS dates and booleans", () => {
  const email: Email = {
    subject: "Hello",
    to: '"Bob" <bob@example.org>',
    dateReceived: new Date(Date.UTC(2026, 10, 21, 10, 0, 0)),
    read: true,
    messageClass: "IPM.Note",
    body: { type: 2, estimatedDataSize: 120, truncated: true, data: "<p>Hi</p>" },
  };
  const out = toElements(EMAIL_SCHEMA, email, { version: "14.1" });
  assert.deepEqual(names(out), [
    "Email:To",
    "Email:Subject",
    "Email:DateReceived",
    "Email:Read",
    "AirSyncBase:Body",
    "Email:MessageClass",
  ]);
  assert.deepEqual(out[2]!.text, "2026-11-21T10:00:00.000Z");
  assert.deepEqual(out[3]!.text, "1");
  assert.deepEqual(out[4]!.children!.map((c) => [c.name, c.text]), [
    ["Type", "2"],
    ["EstimatedDataSize", "120"],
    ["Truncated", "1"],
    ["Data", "<p>Hi</p>"],
  ]);
});

Deno.test("toElements() leaves out fields the protocol version does not carry", () => {
  const email: Email = {
    subject: "x",
    conversationId: new Uint8Array([1, 2]),
    categories: ["Work"],
    body25: "plain",
    body: { type: 1, data: "plain" },
  };
  assert.deepEqual(names(toElements(EMAIL_SCHEMA, email, { version: "12.1" })), [
    "Email:Subject",
    "AirSyncBase:Body",
  ]);
  assert.deepEqual(names(toElements(EMAIL_SCHEMA, email, { version: "2.5" })), [
    "Email:Subject",
    "Email:Body",
  ]);
  const v14 = toElements(EMAIL_SCHEMA, email, { version: "14.0" });
  assert.deepEqual(names(v14), [
    "Email:Subject",
    "AirSyncBase:Body",
    "Email2:ConversationId",
    "Email:Categories",
  ]);
  assert.deepEqual(v14[2]!.opaque, new Uint8Array([1, 2]));
  assert.deepEqual(v14[3]!.children!.map((c) => `${c.name}=${c.text}`), ["Category=Work"]);
});

Deno.test("toElements() writes repeated nested attachments inside their container", () => {
  const out = toElements(EMAIL_SCHEMA, {
    attachments: [
      { displayName: "a.pdf", fileReference: "3:7:2", method: 1, estimatedDataSize: 10, isInline: false },
      { displayName: "b.png", fileReference: "3:7:3", method: 1, contentId: "img1", isInline: true },
    ],
  });
  assert.deepEqual(names(out), ["AirSyncBase:Attachments"]);
  assert.deepEqual(out[0]!.children!.length, 2);
  assert.deepEqual(out[0]!.children![1]!.children!.map((c) => c.name), [
    "DisplayName",
    "FileReference",
    "Method",
    "ContentId",
    "IsInline",
  ]);
});

Deno.test("fromElements() reads a phone's Change with an empty Flag as a cleared flag", () => {
  const email = fromElements<Email>(EMAIL_SCHEMA, [
    { ns: "Email", name: "Read", text: "0" },
    { ns: "Email", name: "Flag" },
  ]);
  assert.deepEqual(email, { read: false, flag: {} });
});

Deno.test("fromElements() reads a flag with Tasks dates and round-trips through toElements()", () => {
  const source: Email = {
    flag: {
      status: 2,
      flagType: "Flag for follow up",
      startDate: new Date("2026-11-21T00:00:00.000Z"),
      utcDueDate: new Date("2026-11-22T00:00:00.000Z"),
    },
    categories: ["A", "B"],
    importance: 2,
  };
  const back = fromElements<Email>(EMAIL_SCHEMA, toElements(EMAIL_SCHEMA, source));
  assert.deepEqual(back, source);
});

Deno.test("fromElements() ignores unknown elements and rejects a bad integer with a named error", () => {
  assert.deepEqual(fromElements(EMAIL_SCHEMA, [{ ns: "Email", name: "Unknown", text: "x" }]), {});
  assert.throws(
    () => fromElements(EMAIL_SCHEMA, [{ ns: "Email", name: "Importance", text: "high" }]),
    (e) =>
      e instanceof ModelSyntaxError && e.message === "Value 'high' of 'Email.importance' is not an integer",
  );
});

Deno.test("the streamer handles any table, not only Email", () => {
  const note: ObjectSchema = {
    name: "Note",
    fields: [
      { field: "subject", ns: "Notes", tag: "Subject", type: "string" },
      { field: "modified", ns: "Notes", tag: "LastModifiedDate", type: "date" },
      {
        field: "tags",
        ns: "Notes",
        tag: "Category",
        type: "string",
        repeated: true,
        container: { ns: "Notes", tag: "Categories" },
      },
    ],
  };
  const value = { subject: "s", modified: new Date("2026-01-02T03:04:05.000Z"), tags: [] };
  const out = toElements(note, value);
  assert.deepEqual(out[2], { ns: "Notes", name: "Categories" });
  assert.deepEqual(fromElements(note, out), value);
});

Deno.test("parseEasDate() accepts the extended and the compact form and rejects others", () => {
  assert.deepEqual(parseEasDate("2026-11-21T10:00:00.000Z")?.getTime(), Date.UTC(2026, 10, 21, 10));
  assert.deepEqual(parseEasDate("20261121T100000Z")?.getTime(), Date.UTC(2026, 10, 21, 10));
  assert.deepEqual(parseEasDate("tomorrow"), undefined);
});
