import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import { find, parseFindRange } from "../../../src/eas/commands/find.ts";
import type { GalEntry } from "../../../src/eas/commands/search.ts";
import { BackendUnavailableError } from "../../../src/backend/types.ts";
import { child, childrenNamed, childText, el, textEl } from "../../../src/wbxml/tree.ts";
import { validateFindXml } from "../../integration/find_xsd.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "./folder_ops_fakes.ts";

const F = "Find";
function people(count: number): GalEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    displayName: `Person ${String(i).padStart(4, "0")}`,
    email: `person${i}@example.test`,
    firstName: "Person",
    lastName: String(i),
    mobilePhone: `+1 555 ${i}`,
    ...(i % 2 ? { picture: new Uint8Array([0xff, 0xd8, 0xff, i]) } : {}),
  }));
}

function galFind(text: string, range?: string, picture?: { maxSize: number; maxPictures: number }) {
  return el(
    F,
    "Find",
    textEl(F, "SearchId", "s1"),
    el(
      F,
      "ExecuteSearch",
      el(
        F,
        "GalSearchCriterion",
        el(F, "Query", textEl(F, "FreeText", text)),
        el(
          F,
          "Options",
          range ? textEl(F, "Range", range) : undefined,
          picture
            ? el(
              F,
              "Picture",
              textEl(F, "MaxSize", picture.maxSize),
              textEl(F, "MaxPictures", picture.maxPictures),
            )
            : undefined,
        ),
      ),
    ),
  );
}

Deno.test("parseFindRange() accepts 0 <= m <= n <= 999 and rejects the rest", () => {
  assert.deepEqual(parseFindRange(undefined), [0, 99]);
  assert.deepEqual(parseFindRange("10-19"), [10, 19]);
  assert.equal(parseFindRange("5-1"), undefined);
  assert.equal(parseFindRange("0-1000"), undefined);
  assert.equal(parseFindRange("a-b"), undefined);
});

Deno.test("Find GAL pages with Range and Total, sends pictures on request and validates against FindResponse.xsd", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  ctx.gal = new CachedGalDirectory(() => Promise.resolve(people(30)));
  const first = await find(
    fakeRequest("Find", galFind("person", "0-9", { maxSize: 1000, maxPictures: 2 })),
    ctx,
  );
  assert.equal(childText(first.body, "Status", F), "1");
  const response = child(first.body, "Response", F);
  assert.equal(childText(response, "Store", "ItemOperations"), "GAL");
  assert.equal(childText(response, "Status", F), "1");
  assert.equal(childText(response, "Range", F), "0-9");
  assert.equal(childText(response, "Total", F), "30");
  const results = childrenNamed(response, "Result", F);
  assert.equal(results.length, 10);
  const props = results.map((r) => child(r, "Properties", F));
  assert.equal(childText(props[0], "DisplayName", "GAL"), "Person 0000");
  assert.equal(childText(props[1], "EmailAddress", "GAL"), "person1@example.test");
  const statuses = props.map((p) => childText(child(p, "Picture", "GAL"), "Status", "GAL"));
  assert.deepEqual(statuses.slice(0, 6), ["173", "1", "173", "1", "173", "175"]);
  assert.equal(childText(child(props[1], "Picture", "GAL"), "Data", "GAL"), btoa("\xff\xd8\xff\x01"));
  const check = await validateFindXml(first.body!);
  assert.ok(check.valid, check.messages);

  const second = await find(fakeRequest("Find", galFind("person", "25-40")), ctx);
  const page = child(second.body, "Response", F);
  assert.equal(childText(page, "Range", F), "25-29");
  assert.equal(childrenNamed(page, "Result", F).length, 5);
  assert.equal(
    child(child(childrenNamed(page, "Result", F)[0], "Properties", F), "Picture", "GAL"),
    undefined,
  );

  const none = await find(fakeRequest("Find", galFind("zebra", "0-9")), ctx);
  const empty = child(none.body, "Response", F);
  assert.equal(childText(empty, "Total", F), "0");
  assert.equal(childrenNamed(empty, "Result", F).length, 0);
  const checkEmpty = await validateFindXml(none.body!);
  assert.ok(checkEmpty.valid, checkEmpty.messages);
});

Deno.test("Find answers status 2 to malformed requests and 503 without a directory", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  const bad = [
    el(F, "Find", textEl(F, "SearchId", "x")),
    galFind("person", "9-1"),
    galFind(""),
    el(F, "Find", el(F, "ExecuteSearch", el(F, "GalSearchCriterion"), el(F, "MailBoxSearchCriterion"))),
  ];
  for (const body of bad) {
    const reply = await find(fakeRequest("Find", body), ctx);
    assert.equal(childText(reply.body, "Status", F), "2");
    const check = await validateFindXml(reply.body!);
    assert.ok(check.valid, check.messages);
  }
  await assert.rejects(() => find(fakeRequest("Find", galFind("person")), ctx), BackendUnavailableError);
});
