/**
 * Whose login reads the CardDAV GAL (src/bridge/gal/mod.ts): the configured service account for
 * everyone, else each user's own, never the login of whoever asked last. Radicale's owner_only
 * rights make the difference visible: a book is readable by its owner only.
 */
import assert from "node:assert/strict";
import { BackendUnavailableError } from "../../../src/backend/types.ts";
import {
  CARDDAV_GAL_PASSWORD_ENV,
  cardDavGalConfigOf,
  createGalDirectory,
  GAL_SETTINGS,
} from "../../../src/bridge/gal/mod.ts";
import { Store } from "../../../src/store/mod.ts";
import { startRadicale } from "../../harness/_radicale.ts";
import { stopServer } from "../../harness/_process.ts";
import { freePort } from "../../harness/free_port.ts";

const ALICE = { name: "alice", password: "alice-secret", email: "alice@example.test" };
const BOB = { name: "bob", password: "bob-secret", email: "bob@example.test" };
const DIRECTORY = { name: "directory", password: "directory-secret", email: "directory@example.test" };

const MKCOL_ADDRESSBOOK = '<?xml version="1.0" encoding="utf-8"?>' +
  '<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>' +
  "<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>";

/** Makes `owner`'s book at /<owner>/<name>/ holding one person, and returns its URL. */
async function makeBook(root: URL, owner: typeof ALICE, name: string, person: string): Promise<URL> {
  const auth = { Authorization: "Basic " + btoa(`${owner.name}:${owner.password}`) };
  // Radicale creates the principal collection on the first authenticated request.
  await (await fetch(new URL(`${owner.name}/`, root), {
    method: "PROPFIND",
    headers: { ...auth, Depth: "0" },
  }))
    .body?.cancel();
  const book = new URL(`${owner.name}/${name}/`, root);
  const made = await fetch(book, {
    method: "MKCOL",
    headers: { ...auth, "Content-Type": "application/xml" },
    body: MKCOL_ADDRESSBOOK,
  });
  assert.equal(made.status, 201, await made.text());
  const card = `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${name}\r\nFN:${person}\r\nEMAIL:${
    person.split(" ")[0]!.toLowerCase()
  }@example.test\r\nEND:VCARD\r\n`;
  const put = await fetch(new URL("p.vcf", book), {
    method: "PUT",
    headers: { ...auth, "Content-Type": "text/vcard" },
    body: card,
  });
  assert.equal(put.status, 201, await put.text());
  return book;
}

Deno.test("cardDavGalConfigOf() reads the book, the service account and its password, the environment first", () => {
  const settings = (values: Record<string, string>) => (key: string) => values[key];
  const none = () => undefined;
  assert.equal(cardDavGalConfigOf(settings({}), none), undefined);
  assert.deepEqual(
    cardDavGalConfigOf(settings({ [GAL_SETTINGS.carddavUrl]: "https://dav.example/gal/" }), none),
    {
      url: new URL("https://dav.example/gal/"),
    },
  );
  const withAccount = settings({
    [GAL_SETTINGS.carddavUrl]: "https://dav.example/gal/",
    [GAL_SETTINGS.carddavUser]: "directory",
    [GAL_SETTINGS.carddavPassword]: "stored",
  });
  assert.deepEqual(cardDavGalConfigOf(withAccount, none)?.serviceAccount, {
    user: "directory",
    password: "stored",
  });
  assert.deepEqual(
    cardDavGalConfigOf(withAccount, (name) => name === CARDDAV_GAL_PASSWORD_ENV ? "from-env" : undefined)
      ?.serviceAccount,
    { user: "directory", password: "from-env" },
  );
  assert.throws(
    () => cardDavGalConfigOf(settings({ [GAL_SETTINGS.carddavUrl]: "ftp://x/" }), none),
    /must be an http:\/\/ or https:\/\/ URL, got 'ftp:\/\/x\/'/,
  );
});

Deno.test("the CardDAV GAL reads with the service account for everyone, else with each user's own login", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-galdav-" });
  const port = freePort();
  const radicale = await startRadicale({ dir, port, users: [ALICE, BOB, DIRECTORY] });
  const store = Store.open(":memory:");
  try {
    const root = new URL(`http://127.0.0.1:${port}/`);
    const shared = await makeBook(root, DIRECTORY, "gal", "Grace Hopper");
    const alicesBook = await makeBook(root, ALICE, "team", "Ada Lovelace");
    const env = new Map<string, string>();
    const galFor = createGalDirectory(store, {
      defaultDomain: () => "example.test",
      env: (name) => env.get(name),
    });
    const alice = galFor({ user: ALICE.name, password: ALICE.password });
    const bob = galFor({ user: BOB.name, password: BOB.password });

    // The service account may read its book; alice and bob may not (owner_only), yet both get it.
    store.settings.set(GAL_SETTINGS.carddavUrl, shared.href);
    store.settings.set(GAL_SETTINGS.carddavUser, DIRECTORY.name);
    env.set(CARDDAV_GAL_PASSWORD_ENV, DIRECTORY.password);
    assert.deepEqual((await alice.search("grace", 10)).map((e) => e.email), ["grace@example.test"]);
    assert.equal((await bob.lookup("grace@example.test"))?.displayName, "Grace Hopper");

    // Without a service account alice's book is read with alice's login, and bob's request with
    // bob's: he is refused, although alice's copy is in memory.
    store.settings.set(GAL_SETTINGS.carddavUrl, alicesBook.href);
    store.settings.delete(GAL_SETTINGS.carddavUser);
    assert.deepEqual((await alice.search("ada", 10)).map((e) => e.email), ["ada@example.test"]);
    await assert.rejects(bob.search("ada", 10), (error: Error) => {
      assert.ok(error instanceof BackendUnavailableError);
      assert.match(error.message, /answered 403/);
      return true;
    });
    assert.equal((await alice.lookup("ada@example.test"))?.displayName, "Ada Lovelace");

    // A wrong service account password is the service account's failure, not a fallback to the user.
    store.settings.set(GAL_SETTINGS.carddavUser, DIRECTORY.name);
    store.settings.set(GAL_SETTINGS.carddavUrl, shared.href);
    env.set(CARDDAV_GAL_PASSWORD_ENV, "wrong");
    const fresh = createGalDirectory(store, {
      defaultDomain: () => "example.test",
      env: (name) => env.get(name),
    });
    await assert.rejects(
      fresh({ user: DIRECTORY.name, password: DIRECTORY.password }).search("grace", 10),
      /answered 401/,
    );
  } finally {
    store.close();
    await stopServer(radicale);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
