import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import { resolveRecipients } from "../../../src/eas/commands/resolve_recipients.ts";
import { encode } from "../../../src/wbxml/mod.ts";
import { child, childrenNamed, childText, el, textEl } from "../../../src/wbxml/tree.ts";
import { validateWithXsd } from "../../integration/eas_checks.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "./folder_ops_fakes.ts";

const R = "ResolveRecipients";

Deno.test("ResolveRecipients resolves, reports ambiguous and unresolved names, and certificates from the GAL", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  ctx.gal = new CachedGalDirectory(() =>
    Promise.resolve([
      { displayName: "Bob Builder", email: "bob@example.test", certificates: [new Uint8Array([1, 2, 3])] },
      { displayName: "Bobby Tables", email: "bobby@example.test" },
      { displayName: "Carol", email: "carol@example.test" },
    ])
  );
  const reply = await resolveRecipients(
    fakeRequest(
      "ResolveRecipients",
      el(
        R,
        "ResolveRecipients",
        textEl(R, "To", "Bob <bob@example.test>"),
        textEl(R, "To", "bob"),
        textEl(R, "To", "nobody"),
        el(R, "Options", textEl(R, "CertificateRetrieval", 2), textEl(R, "MaxAmbiguousRecipients", 5)),
      ),
    ),
    ctx,
  );
  const responses = childrenNamed(reply.body, "Response");
  assert.deepEqual(responses.map((r) => childText(r, "Status")), ["1", "2", "4"]);
  const bob = child(responses[0], "Recipient");
  assert.equal(childText(bob, "EmailAddress"), "bob@example.test");
  assert.equal(childText(child(bob, "Certificates"), "Certificate"), "AQID");
  assert.equal(childrenNamed(responses[1], "Recipient").length, 2);
  const check = await validateWithXsd(encode(reply.body!));
  assert.ok(check.valid, check.messages);
});
