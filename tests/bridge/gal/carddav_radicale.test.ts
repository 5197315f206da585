import assert from "node:assert/strict";
import { cardDavLoader } from "../../../src/bridge/gal/carddav.ts";
import { CachedGalDirectory } from "../../../src/bridge/gal/cached_directory.ts";
import { BackendUnavailableError } from "../../../src/backend/types.ts";
import { startMailstore } from "../../harness/mod.ts";

const MKCOL_ADDRESSBOOK = `<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">
  <D:set><D:prop>
    <D:resourcetype><D:collection/><C:addressbook/></D:resourcetype>
    <D:displayname>Company directory</D:displayname>
  </D:prop></D:set>
</D:mkcol>`;

function vcard(uid: string, lines: string[]): string {
  return ["BEGIN:VCARD", "VERSION:3.0", `UID:${uid}`, ...lines, "END:VCARD", ""].join("\r\n");
}

Deno.test("cardDavLoader() reads the GAL from a real Radicale address book created with MKCOL", async () => {
  const store = await startMailstore({ dav: true, postfix: false, sieve: false });
  try {
    const alice = store.users[0]!;
    const auth = { Authorization: "Basic " + btoa(`${alice.name}:${alice.password}`) };
    const book = new URL(`${alice.name}/directory/`, store.davUrl!);
    // Radicale creates the principal collection on the first authenticated request.
    await (await fetch(new URL(`${alice.name}/`, store.davUrl!), {
      method: "PROPFIND",
      headers: { ...auth, Depth: "0" },
    }))
      .body?.cancel();
    const made = await fetch(book, {
      method: "MKCOL",
      headers: { ...auth, "Content-Type": "application/xml" },
      body: MKCOL_ADDRESSBOOK,
    });
    assert.equal(made.status, 201, await made.text());
    const photo = btoa("\xff\xd8\xff\xe0photo\xff\xd9");
    const cards = {
      "ada.vcf": vcard("ada", [
        "FN:Ada Lovelace",
        "N:Lovelace;Ada;;;",
        "EMAIL;TYPE=INTERNET,PREF:ada@example.test",
        "EMAIL;TYPE=INTERNET:countess@example.test",
        "TEL;TYPE=CELL:+1 555 0100",
        "ORG:Analytical Engines",
        "TITLE:Programmer",
        `PHOTO;ENCODING=b;TYPE=JPEG:${photo}`,
      ]),
      "grace.vcf": vcard("grace", [
        "FN:Grace Hopper",
        "N:Hopper;Grace;;;",
        "EMAIL:grace@example.test",
        "TEL;TYPE=WORK:+1 555 0200",
      ]),
      "printer.vcf": vcard("printer", ["FN:Printer", "N:;;;;"]),
    };
    for (const [name, text] of Object.entries(cards)) {
      const put = await fetch(new URL(name, book), {
        method: "PUT",
        headers: { ...auth, "Content-Type": "text/vcard; charset=utf-8" },
        body: text,
      });
      assert.equal(put.status, 201, await put.text());
    }
    const gal = new CachedGalDirectory(
      cardDavLoader(book, () => ({ user: alice.name, password: alice.password })),
    );
    const found = await gal.search("a", 10);
    assert.deepEqual(found.map((e) => e.email), ["ada@example.test", "grace@example.test"]);
    const ada = found[0]!;
    assert.equal(ada.displayName, "Ada Lovelace");
    assert.deepEqual(ada.aliases, ["countess@example.test"]);
    assert.equal(ada.mobilePhone, "+1 555 0100");
    assert.equal(ada.company, "Analytical Engines");
    assert.equal(ada.title, "Programmer");
    assert.equal(new TextDecoder("latin1").decode(ada.picture), "\xff\xd8\xff\xe0photo\xff\xd9");
    assert.equal((await gal.lookup("COUNTESS@example.test"))?.displayName, "Ada Lovelace");
    assert.equal(found[1]!.phone, "+1 555 0200");
    // Another user may not read alice's book (Radicale owner_only): a clear backend failure.
    const bob = store.users[1]!;
    await assert.rejects(
      cardDavLoader(book, () => ({ user: bob.name, password: bob.password }))(),
      BackendUnavailableError,
    );
  } finally {
    await store.stop();
  }
});
