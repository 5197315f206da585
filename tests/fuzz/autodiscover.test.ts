import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AUTODISCOVER_NS,
  AutodiscoverRequestError,
  decideAnswer,
  mobileSyncResponse,
  outlookResponse,
  parsePoxRequest,
} from "../../src/http/autodiscover.ts";
import { mutateText, textEdits } from "./_mutate.ts";
import { fuzzParams, timed } from "./_runs.ts";

const request = (email: string, schema: string = AUTODISCOVER_NS.mobileSync) =>
  `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>${email}</EMailAddress><AcceptableResponseSchema>${schema}</AcceptableResponseSchema></Request></Autodiscover>`;

const SEEDS = [
  request("alice@example.test"),
  request("bob@example.test", AUTODISCOVER_NS.outlook),
  `<a:Autodiscover xmlns:a="x"><a:Request><a:EMailAddress>x@y</a:EMailAddress><a:AcceptableResponseSchema>s</a:AcceptableResponseSchema></a:Request></a:Autodiscover>`,
];

/** Parsed, or refused with AutodiscoverRequestError; a parsed address never carries markup. */
function parseOrRefuse(xml: string): void {
  try {
    const parsed = timed("parsePoxRequest()", () => parsePoxRequest(xml));
    assert.match(parsed.email, /^[^@\s<>]+@[^@\s<>]+$/);
    // Whatever was accepted is echoed escaped: the answers have exactly the markup of a plain address's.
    const tags = (text: string) => text.match(/<[^>]*>/g)?.map((t) => t.replace(/"[^"]*"/g, "")).join("");
    for (const domains of [["example.test"], []]) {
      const answer = decideAnswer(parsed.email, "bob", domains, "https://box/Microsoft-Server-ActiveSync");
      const plain = decideAnswer(
        answer.kind === "settings" ? "a@b" : "a@c.invalid",
        "bob",
        domains,
        "https://box/Microsoft-Server-ActiveSync",
      );
      if (plain.kind === answer.kind) {
        assert.equal(tags(mobileSyncResponse(answer)), tags(mobileSyncResponse(plain)));
      }
    }
    assert.equal(
      tags(outlookResponse(parsed.email, "bob", undefined, undefined)),
      tags(outlookResponse("a@b", "bob", undefined, undefined)),
    );
  } catch (error) {
    if (!(error instanceof AutodiscoverRequestError)) throw error;
    assert.ok(!error.message.endsWith("."), error.message);
  }
}

Deno.test("parsePoxRequest() of any text parses or refuses with AutodiscoverRequestError, in linear time", () => {
  fc.assert(fc.property(fc.string({ maxLength: 400 }), parseOrRefuse), fuzzParams());
});

Deno.test("parsePoxRequest() of mutated requests parses or refuses, and answers escape the echoed address", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...SEEDS),
      textEdits,
      (seed, edits) => parseOrRefuse(mutateText(seed, edits)),
    ),
    fuzzParams(),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (local, domain) => {
      parseOrRefuse(request(`${local}@${domain}`));
      parseOrRefuse(request(`${local.replace(/[<&]/g, "")}@${domain.replace(/[<&]/g, "")}`));
    }),
    fuzzParams(),
  );
});

Deno.test("parsePoxRequest() refuses entity declarations and stays fast on pathological nesting", () => {
  assert.throws(
    () => parsePoxRequest(`<!DOCTYPE a [<!ENTITY x "y">]>${request("a@b")}`),
    AutodiscoverRequestError,
  );
  // Many unclosed start tags are the classic backtracking trap for a regex-based scan.
  for (
    const bomb of [
      "<Autodiscover>" + "<EMailAddress ".repeat(20_000),
      "<Autodiscover><EMailAddress>" + " ".repeat(200_000),
      "<Autodiscover>" + "<EMailAddress>a@b</EMailAddress ".repeat(10_000),
      "<Autodiscover>" + "<x:EMailAddress x".repeat(20_000),
    ]
  ) {
    parseOrRefuse(bomb);
  }
});
