/**
 * The GAL parts of the setup wizard beyond tests/setup/ldap_probe.test.ts: StartTLS in the
 * directory test, and the shared CardDAV address book with its service account.
 */
import assert from "node:assert/strict";
import { CARDDAV_GAL_PASSWORD_ENV, GAL_SETTINGS } from "../../src/bridge/gal/mod.ts";
import { LDAP_GAL_SETTINGS } from "../../src/bridge/gal/ldap_source.ts";
import { probeLdap } from "../../src/setup/_probes.ts";
import { startRadicale } from "../harness/_radicale.ts";
import { stopServer } from "../harness/_process.ts";
import { startSlapd } from "../harness/_slapd.ts";
import { freePort } from "../harness/free_port.ts";
import { startBox } from "../integration/fixture.ts";
import { adminSession, SEEDED_ADMIN_PASSWORD, startSetupBox } from "./_session.ts";

Deno.test("the directory test starts TLS before the bind, and names a server without StartTLS", async () => {
  const required = await startSlapd({ people: 3, tls: "required" });
  const none = await startSlapd({ people: 1, tls: "none" });
  try {
    const target = {
      baseDn: required.baseDn,
      bindDn: required.bindDn,
      bindPassword: required.bindPassword,
      caCerts: [required.caPem],
    };
    const good = await probeLdap({ ...target, url: required.url, startTls: true });
    assert.equal(good.ok, true, JSON.stringify(good.steps));
    assert.deepEqual(good.steps.map((s) => [s.step, s.status]).slice(-3), [
      ["StartTLS", "ok"],
      ["Bind", "ok"],
      ["Search", "ok"],
    ]);

    // Without StartTLS this server refuses the bind, and the test says what to change.
    const clear = await probeLdap({ ...target, url: required.url, startTls: false });
    assert.equal(clear.ok, false);
    assert.deepEqual(clear.steps.at(-1), {
      step: "Bind",
      status: "fail",
      detail: "The directory wants TLS before a bind: use ldaps:// or StartTLS",
    });

    const missing = await probeLdap({ ...target, url: none.url, baseDn: none.baseDn, startTls: true });
    assert.equal(missing.ok, false);
    assert.equal(missing.steps.at(-1)?.step, "StartTLS");
    assert.match(missing.steps.at(-1)!.detail, /does not offer StartTLS.*the bind password was not sent/);
  } finally {
    await required.stop();
    await none.stop();
  }
});

Deno.test({
  name: "the wizard saves the shared address book with its service account and tests it as the GAL reads it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const users = [
      { name: "alice", password: "alice-secret", email: "alice@example.test" },
      { name: "directory", password: "directory-secret", email: "directory@example.test" },
    ];
    const radicaleDir = await Deno.makeTempDir({ prefix: "pushbridge-galwiz-" });
    const port = freePort();
    const radicale = await startRadicale({ dir: radicaleDir, port, users });
    const box = await startSetupBox("pushbridge-galwiz-data-");
    const server = box.server;
    try {
      // The directory account's book with two people (Radicale owner_only: only it may read it).
      const auth = { Authorization: "Basic " + btoa("directory:directory-secret") };
      const root = `http://127.0.0.1:${port}/`;
      await (await fetch(`${root}directory/`, { method: "PROPFIND", headers: { ...auth, Depth: "0" } })).body
        ?.cancel();
      const book = `${root}directory/company/`;
      const made = await fetch(book, {
        method: "MKCOL",
        headers: { ...auth, "Content-Type": "application/xml" },
        body: '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">' +
          "<D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>",
      });
      assert.equal(made.status, 201);
      for (const [uid, name] of [["ada", "Ada Lovelace"], ["grace", "Grace Hopper"]]) {
        const put = await fetch(`${book}${uid}.vcf`, {
          method: "PUT",
          headers: { ...auth, "Content-Type": "text/vcard" },
          body:
            `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nEMAIL:${uid}@example.test\r\nEND:VCARD\r\n`,
        });
        assert.equal(put.status, 201);
      }

      const admin = await box.admin();
      const form = await admin.text("/wizard/mailstore");
      for (const field of ["ldapStartTls", "galCarddavUrl", "galCarddavUser", "galCarddavPassword"]) {
        assert.match(form, new RegExp(`id="${field}"`));
      }
      assert.match(form, new RegExp(CARDDAV_GAL_PASSWORD_ENV));

      const fields = {
        galCarddavUrl: book,
        galCarddavUser: "directory",
        galCarddavPassword: "directory-secret",
      };
      const probe = await admin.postJson("/api/probe/galdav", fields);
      assert.equal(probe.status, 200);
      assert.equal(probe.body.ok, true, JSON.stringify(probe.body.steps));
      assert.match(
        probe.body.steps.at(-1).detail,
        /^2 people with an address, e\.g\. 'Ada Lovelace <ada@example\.test>'/,
      );

      // Without a service account the test reads as the test user, who may not read this book.
      const asAlice = await admin.postJson("/api/probe/galdav", {
        galCarddavUrl: book,
        testUser: "alice",
        testPassword: "alice-secret",
      });
      assert.equal(asAlice.body.ok, false);
      assert.equal(asAlice.body.steps.find((s: { step: string }) => s.step === "Account").status, "warn");
      assert.equal(asAlice.body.steps.at(-1).detail, "'alice' may not read this address book");
      const wrong = await admin.postJson("/api/probe/galdav", { ...fields, galCarddavPassword: "nope" });
      assert.equal(wrong.body.steps.at(-1).detail, "The server refused 'directory' with this password");

      const bad = await admin.post("/wizard/mailstore", { galCarddavUrl: "ftp://x/", save: "1" });
      assert.equal(bad.status, 200);
      assert.match(await bad.text(), /is not an http:\/\/ or https:\/\/ URL/);

      const saved = await admin.post("/wizard/mailstore", { ...fields, ldapStartTls: "", save: "1" });
      assert.equal(saved.headers.get("Location"), "/wizard/finish");
      const settings = server.store.settings;
      assert.equal(settings.get(GAL_SETTINGS.carddavUrl), book);
      assert.equal(settings.get(GAL_SETTINGS.carddavUser), "directory");
      assert.equal(settings.get(GAL_SETTINGS.carddavPassword), "directory-secret");
      assert.equal(settings.get(LDAP_GAL_SETTINGS.startTls), undefined);
      // An empty password field keeps the saved one, for saving and for the test.
      await admin.post("/wizard/mailstore", { ...fields, galCarddavPassword: "", save: "1" });
      assert.equal(settings.get(GAL_SETTINGS.carddavPassword), "directory-secret");
      const retest = await admin.postJson("/api/probe/galdav", { ...fields, galCarddavPassword: "" });
      assert.equal(retest.body.ok, true, JSON.stringify(retest.body.steps));
      assert.doesNotMatch(await admin.text("/wizard/mailstore"), /directory-secret/);

      // Clearing the service account drops its password too.
      await admin.post("/wizard/mailstore", { galCarddavUrl: book, save: "1" });
      assert.equal(settings.get(GAL_SETTINGS.carddavUser), undefined);
      assert.equal(settings.get(GAL_SETTINGS.carddavPassword), undefined);
      assert.ok(!JSON.stringify(server.store.audit.list()).includes("directory-secret"));
    } finally {
      await box.close();
      await stopServer(radicale);
      await Deno.remove(radicaleDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "the dashboard tests the directory with its StartTLS setting: a slapd certificate the box does not trust is named",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const slapd = await startSlapd({ people: 2, tls: "required" });
    const box = await startBox({ env: { PUSHBRIDGE_ADMIN_PASSWORD: "seeded-admin-pw" } });
    try {
      const settings = box.server.store.settings;
      settings.set("setup.completed", "1");
      settings.set(LDAP_GAL_SETTINGS.url, slapd.url);
      settings.set(LDAP_GAL_SETTINGS.baseDn, slapd.baseDn);
      settings.set(LDAP_GAL_SETTINGS.bindDn, slapd.bindDn);
      settings.set(LDAP_GAL_SETTINGS.bindPassword, slapd.bindPassword);
      // Loopback alone would mean no StartTLS; the explicit setting asks for it, and the box
      // trusts only the mailstore's CA, not the one that signed slapd's certificate.
      settings.set(LDAP_GAL_SETTINGS.startTls, "true");
      const admin = await adminSession(box.server.setupUrl, SEEDED_ADMIN_PASSWORD);
      const status = await admin.json("/api/status");
      const gal = status.mailstore.find((r: { service: string }) => r.service === "GAL/LDAP");
      assert.equal(gal.ok, false);
      assert.match(gal.detail, /^StartTLS: StartTLS with 'ldap:\/\/127\.0\.0\.1:\d+' failed: .*certificate/);
    } finally {
      await box.stop();
      await slapd.stop();
    }
  },
});
