/**
 * GAL pictures above the client's MaxSize (MS-ASCMD 2.2.3.105) are resized
 * in the photo worker to fit, in Search, Find and ResolveRecipients; status 174 stays for a
 * photo that cannot be made that small (undecodable, or MaxSize too small
 * for even the smallest try).
 */
import assert from "node:assert/strict";
import { CachedGalDirectory } from "../../src/bridge/gal/cached_directory.ts";
import { find } from "../../src/eas/commands/find.ts";
import { resolveRecipients } from "../../src/eas/commands/resolve_recipients.ts";
import { type GalEntry, search } from "../../src/eas/commands/search.ts";
import { decodeImage } from "../../src/image/resize_photo.ts";
import { stopPhotoWorkers } from "../../src/image/fit_photo_off_thread.ts";
import { encode } from "../../src/wbxml/mod.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/tree.ts";
import { validateWithXsd } from "../integration/eas_checks.ts";
import { validateFindXml } from "../integration/find_xsd.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "../eas/commands/folder_ops_fakes.ts";
import { cameraJpeg } from "./_photos.ts";

const photo = cameraJpeg(1200, 900, 31);
const undecodable = new Uint8Array(20_000).fill(0x42);
const small = cameraJpeg(40, 30, 32);

/** Ann: a large camera photo; Bea: junk bytes; Cid: a photo that fits as it is; Dee: a large photo again. */
const people: GalEntry[] = [
  { displayName: "Ann Large", email: "ann@example.test", picture: photo },
  { displayName: "Bea Broken", email: "bea@example.test", picture: undecodable },
  { displayName: "Cid Small", email: "cid@example.test", picture: small },
  { displayName: "Dee Large", email: "dee@example.test", picture: cameraJpeg(1000, 800, 33) },
];

function pictureOption(ns: string, maxSize: number, maxPictures: number): WbxmlElement {
  return el(ns, "Picture", textEl(ns, "MaxSize", maxSize), textEl(ns, "MaxPictures", maxPictures));
}

function galSearch(maxSize: number, maxPictures: number): WbxmlElement {
  const S = "Search";
  return el(
    S,
    "Search",
    el(
      S,
      "Store",
      textEl(S, "Name", "GAL"),
      textEl(S, "Query", "example"),
      el(S, "Options", textEl(S, "Range", "0-9"), pictureOption(S, maxSize, maxPictures)),
    ),
  );
}

function galFind(maxSize: number, maxPictures: number): WbxmlElement {
  const F = "Find";
  return el(
    F,
    "Find",
    textEl(F, "SearchId", "p1"),
    el(
      F,
      "ExecuteSearch",
      el(
        F,
        "GalSearchCriterion",
        el(F, "Query", textEl(F, "FreeText", "example")),
        el(F, "Options", textEl(F, "Range", "0-9"), pictureOption(F, maxSize, maxPictures)),
      ),
    ),
  );
}

/** [Status, Data bytes] of each result's Picture, by display name. */
function pictures(properties: (WbxmlElement | undefined)[]): Map<string, [string, Uint8Array | undefined]> {
  return new Map(properties.map((p) => {
    const picture = child(p, "Picture", "GAL");
    const data = childText(picture, "Data", "GAL");
    return [
      childText(p, "DisplayName", "GAL")!,
      [childText(picture, "Status", "GAL")!, data ? Uint8Array.fromBase64(data) : undefined],
    ];
  }));
}

Deno.test("Search and Find GAL resize a photo above MaxSize to fit and keep 174 for what cannot fit", async () => {
  try {
    const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
    ctx.gal = new CachedGalDirectory(() => Promise.resolve(people));

    const reply = await search(fakeRequest("Search", galSearch(8000, 3)), ctx);
    const store = child(child(reply.body, "Response"), "Store");
    const got = pictures(childrenNamed(store, "Result").map((r) => child(r, "Properties")));
    const [annStatus, ann] = got.get("Ann Large")!;
    assert.equal(annStatus, "1");
    assert.ok(ann!.length <= 8000, `${ann!.length} bytes`);
    const { image } = decodeImage(ann!);
    assert.ok(
      Math.abs(image.width / image.height - 4 / 3) < 0.01,
      `aspect kept: ${image.width}x${image.height}`,
    );
    assert.deepEqual(got.get("Bea Broken"), ["174", undefined]);
    assert.deepEqual(got.get("Cid Small"), ["1", small], "a photo within MaxSize goes as it is");
    // Two sent (Ann, Cid) and MaxPictures 3: Dee is resized too.
    assert.equal(got.get("Dee Large")![0], "1");
    assert.ok((await validateWithXsd(encode(reply.body!))).valid);
    // The directory's own entry keeps its original photo.
    assert.equal((await ctx.gal.lookup("ann@example.test"))!.picture, photo);

    // MaxPictures 1: only Ann's photo is resized and sent. Past the limit nothing is resized: Cid's
    // photo says 175 and Dee's, still above MaxSize, 174 (the size is checked first, as before).
    const one = await search(fakeRequest("Search", galSearch(8000, 1)), ctx);
    const oneGot = pictures(
      childrenNamed(child(child(one.body, "Response"), "Store"), "Result").map((r) => child(r, "Properties")),
    );
    assert.deepEqual([...oneGot.values()].map(([status]) => status), ["1", "174", "175", "174"]);

    // Far too small for even the smallest try: 174, as before.
    const tiny = await find(fakeRequest("Find", galFind(60, 5)), ctx);
    const response = child(tiny.body, "Response", "Find");
    const tinyGot = pictures(
      childrenNamed(response, "Result", "Find").map((r) => child(r, "Properties", "Find")),
    );
    assert.deepEqual(tinyGot.get("Ann Large"), ["174", undefined]);
    assert.deepEqual(tinyGot.get("Cid Small")![0], "174");

    // Find with room: resized like Search, and the answer validates against FindResponse.xsd.
    const roomy = await find(fakeRequest("Find", galFind(12_000, 5)), ctx);
    const roomyGot = pictures(
      childrenNamed(child(roomy.body, "Response", "Find"), "Result", "Find").map((r) =>
        child(r, "Properties", "Find")
      ),
    );
    const [status, data] = roomyGot.get("Ann Large")!;
    assert.equal(status, "1");
    assert.ok(data!.length <= 12_000 && data!.length > 8000, `${data!.length} bytes`);
    const check = await validateFindXml(roomy.body!);
    assert.ok(check.valid, check.messages);
  } finally {
    stopPhotoWorkers();
  }
});

function resolve(maxSize: number, maxPictures: number, ...to: string[]): WbxmlElement {
  const R = "ResolveRecipients";
  return el(
    R,
    "ResolveRecipients",
    ...to.map((t) => textEl(R, "To", t)),
    el(R, "Options", pictureOption(R, maxSize, maxPictures)),
  );
}

/** [Status, Data bytes] of each Recipient's Picture of each Response, by display name. */
function recipientPictures(body: WbxmlElement | undefined): Map<string, [string, Uint8Array | undefined]>[] {
  const R = "ResolveRecipients";
  return childrenNamed(body, "Response", R).map((response) =>
    new Map(
      childrenNamed(response, "Recipient", R).map((r) => {
        const picture = child(r, "Picture", R);
        const data = childText(picture, "Data", R);
        return [
          childText(r, "DisplayName", R)!,
          [childText(picture, "Status", R)!, data ? Uint8Array.fromBase64(data) : undefined],
        ];
      }),
    )
  );
}

Deno.test("ResolveRecipients sends GAL pictures resized to MaxSize, MaxPictures counted per recipient", async () => {
  try {
    const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
    ctx.gal = new CachedGalDirectory(() => Promise.resolve(people));
    const reply = await resolveRecipients(
      fakeRequest("ResolveRecipients", resolve(8000, 2, "ann@example.test", "example")),
      ctx,
    );
    const [exact, ambiguous] = recipientPictures(reply.body);
    const [status, ann] = exact!.get("Ann Large")!;
    assert.equal(status, "1");
    assert.ok(ann!.length <= 8000, `${ann!.length} bytes`);
    const { image } = decodeImage(ann!);
    assert.ok(Math.abs(image.width / image.height - 4 / 3) < 0.01, `${image.width}x${image.height}`);
    // The second To has its own MaxPictures: Ann (resized) and Cid are sent, Bea cannot be decoded,
    // and Dee comes after the limit (still above MaxSize: 174, as Search answers it).
    assert.deepEqual([...ambiguous!.entries()].map(([name, [s]]) => `${name}:${s}`), [
      "Ann Large:1",
      "Bea Broken:174",
      "Cid Small:1",
      "Dee Large:174",
    ]);
    assert.deepEqual(ambiguous!.get("Ann Large"), exact!.get("Ann Large"), "the same resized photo");
    const check = await validateWithXsd(encode(reply.body!));
    assert.ok(check.valid, check.messages);

    // 14.0 has no pictures in ResolveRecipients (MS-ASCMD 2.2.3.135.2).
    ctx.protocolVersion = "14.0";
    const old = await resolveRecipients(
      fakeRequest("ResolveRecipients", resolve(8000, 2, "ann@example.test")),
      ctx,
    );
    assert.deepEqual(recipientPictures(old.body)[0]!.get("Ann Large"), [undefined, undefined]);
  } finally {
    stopPhotoWorkers();
  }
});
