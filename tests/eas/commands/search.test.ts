import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import { galEntriesOfMultistatus } from "../../../src/bridge/gal/carddav.ts";
import { type GalEntry, search } from "../../../src/eas/commands/search.ts";
import { encode } from "../../../src/wbxml/mod.ts";
import { child, childrenNamed, childText, el, textEl } from "../../../src/wbxml/tree.ts";
import { validateWithXsd } from "../../integration/eas_checks.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "./folder_ops_fakes.ts";

function directory(count: number): GalEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    displayName: `Person ${String(i).padStart(4, "0")}`,
    email: `person${i}@example.test`,
    firstName: "Person",
    lastName: String(i),
    phone: `+1 555 ${i}`,
    title: "Engineer",
    company: "Example",
    ...(i % 2 ? { picture: new Uint8Array(i % 4 === 1 ? 10 : 5000) } : {}),
  }));
}

function galSearch(query: string, range?: string, picture?: { maxSize: number; maxPictures: number }) {
  return el(
    "Search",
    "Search",
    el(
      "Search",
      "Store",
      textEl("Search", "Name", "GAL"),
      textEl("Search", "Query", query),
      el(
        "Search",
        "Options",
        range ? textEl("Search", "Range", range) : undefined,
        picture
          ? el(
            "Search",
            "Picture",
            textEl("Search", "MaxSize", picture.maxSize),
            textEl("Search", "MaxPictures", picture.maxPictures),
          )
          : undefined,
      ),
    ),
  );
}

Deno.test("Search GAL pages a 5,000-entry directory in under a second with Range and Total", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  let loads = 0;
  ctx.gal = new CachedGalDirectory(() => {
    loads++;
    return Promise.resolve(directory(5000));
  });
  const started = performance.now();
  const first = await search(fakeRequest("Search", galSearch("person", "0-9")), ctx);
  const second = await search(fakeRequest("Search", galSearch("person", "10-19")), ctx);
  assert.ok(performance.now() - started < 1000);
  assert.equal(loads, 1);
  const store = child(child(first.body, "Response"), "Store");
  assert.equal(childText(store, "Status"), "1");
  assert.equal(childrenNamed(store, "Result").length, 10);
  assert.equal(childText(store, "Range"), "0-9");
  assert.equal(childText(store, "Total"), "100");
  const page2 = child(child(second.body, "Response"), "Store");
  assert.equal(childText(page2, "Range"), "10-19");
  const name = childText(child(childrenNamed(page2, "Result")[0], "Properties"), "DisplayName", "GAL");
  assert.equal(name, "Person 0010");
  const check = await validateWithXsd(encode(first.body!));
  assert.ok(check.valid, check.messages);
});

Deno.test("Search GAL sends pictures within MaxSize and MaxPictures and says why others are missing", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  ctx.gal = new CachedGalDirectory(() => Promise.resolve(directory(8)));
  const reply = await search(
    fakeRequest("Search", galSearch("person", "0-7", { maxSize: 100, maxPictures: 1 })),
    ctx,
  );
  const statuses = childrenNamed(child(child(reply.body, "Response"), "Store"), "Result").map((r) =>
    childText(child(child(r, "Properties"), "Picture", "GAL"), "Status", "GAL")
  );
  // 0: none, 1: small (sent), 2: none, 3: too large, 4: none, 5: small but over MaxPictures
  assert.deepEqual(statuses.slice(0, 6), ["173", "1", "173", "174", "173", "175"]);
  const check = await validateWithXsd(encode(reply.body!));
  assert.ok(check.valid, check.messages);
});

Deno.test("Search GAL answers no match with an empty Result and a bad range with status 2", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "14.1");
  ctx.gal = new CachedGalDirectory(() => Promise.resolve(directory(3)));
  const none = await search(fakeRequest("Search", galSearch("nobody")), ctx);
  const store = child(child(none.body, "Response"), "Store");
  assert.equal(childrenNamed(store, "Result").length, 1);
  assert.equal(childText(store, "Total"), "0");
  assert.ok((await validateWithXsd(encode(none.body!))).valid);
  const bad = await search(fakeRequest("Search", galSearch("person", "9-1")), ctx);
  assert.equal(childText(child(child(bad.body, "Response"), "Store"), "Status"), "2");
});

Deno.test("CachedGalDirectory reloads after the TTL and never serves a load older than the maximum age", async () => {
  let now = 0;
  let fail = false;
  let loads = 0;
  const gal = new CachedGalDirectory(() => {
    loads++;
    return fail ? Promise.reject(new Error("down")) : Promise.resolve(directory(2));
  }, { ttlMs: 1000, maxAgeMs: 5000, now: () => now });
  assert.equal((await gal.search("person", 10)).length, 2);
  now = 1500;
  fail = true;
  assert.equal((await gal.search("person", 10)).length, 2, "a failed reload falls back to a young load");
  now = 6000;
  await assert.rejects(() => gal.search("person", 10), /down/);
  assert.equal(loads, 3);
  fail = false;
  assert.equal((await gal.lookup("PERSON1@example.test"))?.displayName, "Person 0001");
});

Deno.test("galEntriesOfMultistatus() reads vCards of a CardDAV REPORT", () => {
  const xml = `<?xml version="1.0"?><multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
<response><href>/a/1.vcf</href><propstat><prop><C:address-data>BEGIN:VCARD\r
VERSION:3.0\r
FN:Carol Example\r
N:Example;Carol;;;\r
EMAIL;TYPE=work:carol@example.test\r
EMAIL:c.example@example.test\r
TEL;TYPE=cell:+1 555 0101\r
TEL;TYPE=work:+1 555 0100\r
ORG:Example Corp;R&amp;D\r
TITLE:Engineer\r
END:VCARD\r
</C:address-data></prop></propstat></response></multistatus>`;
  assert.deepEqual(galEntriesOfMultistatus(xml), [{
    displayName: "Carol Example",
    email: "carol@example.test",
    aliases: ["c.example@example.test"],
    firstName: "Carol",
    lastName: "Example",
    company: "Example Corp",
    title: "Engineer",
    mobilePhone: "+1 555 0101",
    phone: "+1 555 0100",
  }]);
});
