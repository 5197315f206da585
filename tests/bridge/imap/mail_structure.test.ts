import assert from "node:assert/strict";
import { partAt, partialText, planFromStructure } from "../../../src/bridge/imap/_mail_structure.ts";
import type { StructurePart } from "../../../src/bridge/imap/_mail_session.ts";

const leaf = (
  section: string,
  type: string,
  subtype: string,
  extra: Partial<StructurePart> = {},
): StructurePart => ({
  section,
  type,
  subtype,
  params: {},
  encoding: "7bit",
  size: 100,
  ...extra,
});

Deno.test("planFromStructure() picks the better alternative and lists attachments with sections", () => {
  const root: StructurePart = {
    ...leaf("", "multipart", "mixed"),
    parts: [
      {
        ...leaf("1", "multipart", "alternative"),
        parts: [leaf("1.1", "text", "plain"), leaf("1.2", "text", "html")],
      },
      leaf("2", "application", "pdf", {
        encoding: "base64",
        size: 4000,
        disposition: { type: "attachment", params: { filename: "=?UTF-8?Q?R=C3=A9sum=C3=A9.pdf?=" } },
      }),
      leaf("3", "message", "rfc822"),
    ],
  };
  const plan = planFromStructure(root);
  assert.equal(plan.plain?.section, "1.1");
  assert.equal(plan.html?.section, "1.2");
  assert.deepEqual(plan.attachments.map((a) => [a.section, a.filename, a.size, a.method]), [
    ["2", "Résumé.pdf", 3000, 1],
    ["3", "attachment-3.bin", 100, 5],
  ]);
  assert.equal(partAt(root, "1.2")?.subtype, "html");
  assert.equal(partAt(root, "9"), undefined);
});

Deno.test("planFromStructure() marks an iMIP request and signed mail", () => {
  const invite = planFromStructure({
    ...leaf("", "multipart", "alternative"),
    parts: [leaf("1", "text", "plain"), leaf("2", "text", "calendar", { params: { method: "request" } })],
  });
  assert.equal(invite.calendarMethod, "REQUEST");
  assert.equal(invite.attachments.length, 0);
  const signed = planFromStructure({
    ...leaf("", "multipart", "signed"),
    parts: [leaf("1", "text", "plain"), leaf("2", "application", "pkcs7-signature")],
  });
  assert.equal(signed.smime, "signed");
});

Deno.test("partialText() decodes the beginning of base64 and Latin-1 parts", () => {
  const part = leaf("1", "text", "plain", {
    encoding: "base64",
    params: { charset: "iso-8859-1" },
    size: 4000,
  });
  const bytes = new TextEncoder().encode("R3L832UgYXVzIEv2bG4=\r\nR3L8");
  const text = partialText(part, bytes, false);
  assert.equal(text.text, "Grüße aus Köln");
  assert.equal(text.complete, false);
  assert.equal(text.size, 3000);
});
