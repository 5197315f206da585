import assert from "node:assert/strict";
import { type Email, EMAIL_SCHEMA, toElements } from "../../../src/eas/model/mod.ts";
import { el, encode, textEl } from "../../../src/wbxml/mod.ts";
import { validateWithXsd } from "../../integration/eas_checks.ts";

const AS = "AirSync";

/**
 * An Email with every field we write. ReplyTo is left out: libwbxml decodes
 * its token as "Reply-To", which the schema does not know (eas-xsd README).
 */
const RICH: Email = {
  to: '"Bob" <bob@example.org>',
  cc: "carol@example.org",
  from: '"Jörg" <jorg@example.org>',
  subject: "Planning",
  dateReceived: new Date("2026-11-21T10:00:00.000Z"),
  displayTo: "Bob",
  threadTopic: "Planning",
  importance: 1,
  read: false,
  attachments: [{
    displayName: "a.pdf",
    fileReference: "3:7:2",
    method: 1,
    estimatedDataSize: 3000,
    isInline: false,
  }, { displayName: "logo.png", fileReference: "3:7:1.2", method: 1, contentId: "logo@x", isInline: true }],
  body: { type: 2, estimatedDataSize: 100, truncated: true, data: "<p>Hi</p>", preview: "Hi" },
  bodyPart: { status: 1, type: 2, estimatedDataSize: 100, truncated: true, data: "<p>Hi</p>" },
  messageClass: "IPM.Note",
  internetCpid: "65001",
  flag: { status: 2, flagType: "Flag for follow up" },
  contentClass: "urn:content-classes:message",
  nativeBodyType: 2,
  conversationId: new Uint8Array(16).fill(7),
  conversationIndex: new Uint8Array(22).fill(1),
  lastVerbExecuted: 3,
  categories: ["Work"],
  isDraft: false,
};

for (const version of ["16.1", "14.1", "12.1", "2.5"]) {
  Deno.test(`a Sync response with a full Email for ${version} is valid against the XSD`, async () => {
    const email: Email = version === "2.5"
      ? { ...RICH, body25: "Hi", bodySize25: 2, bodyTruncated25: false }
      : RICH;
    const response = el(
      AS,
      "Sync",
      el(
        AS,
        "Collections",
        el(
          AS,
          "Collection",
          textEl(AS, "SyncKey", "{0011223344556677}2"),
          textEl(AS, "CollectionId", "3"),
          textEl(AS, "Status", 1),
          el(
            AS,
            "Commands",
            el(AS, "Add", textEl(AS, "ServerId", "3:7"), {
              ns: AS,
              name: "ApplicationData",
              children: toElements(EMAIL_SCHEMA, email, { version }),
            }),
            el(AS, "Change", textEl(AS, "ServerId", "3:8"), {
              ns: AS,
              name: "ApplicationData",
              children: toElements(EMAIL_SCHEMA, { read: true, flag: {}, categories: [] }, { version }),
            }),
            el(AS, "SoftDelete", textEl(AS, "ServerId", "3:9")),
          ),
        ),
      ),
    );
    const check = await validateWithXsd(encode(response));
    assert.ok(check.valid, check.messages);
  });
}
