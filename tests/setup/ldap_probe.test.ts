import assert from "node:assert/strict";
import { LDAP_GAL_SETTINGS } from "../../src/bridge/gal/ldap_source.ts";
import { probeLdap } from "../../src/setup/_probes.ts";
import { startSlapd } from "../harness/_slapd.ts";
import { startSetupBox } from "./_session.ts";

Deno.test({
  name:
    "the directory test binds and searches like the GAL: people counted, refused bind, missing base DN named",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const slapd = await startSlapd({ people: 3 });
    try {
      const good = await probeLdap({
        url: slapd.ldapsUrl,
        baseDn: slapd.baseDn,
        bindDn: slapd.bindDn,
        bindPassword: slapd.bindPassword,
        caCerts: [slapd.caPem],
      });
      assert.equal(good.ok, true, JSON.stringify(good.steps));
      assert.equal(good.steps.find((s) => s.step === "TLS")?.detail, "LDAPS handshake done");
      assert.equal(good.steps.find((s) => s.step === "Bind")?.detail, `Bound as '${slapd.bindDn}'`);
      const search = good.steps.find((s) => s.step === "Search")!;
      assert.match(search.detail, new RegExp(`^3 people with an address under '${slapd.baseDn}'`));
      assert.ok(slapd.people.some((p) => search.detail.includes(`<${p.mail}>`)), search.detail);

      const refused = await probeLdap({
        url: slapd.ldapsUrl,
        baseDn: slapd.baseDn,
        bindDn: slapd.bindDn,
        bindPassword: "wrong-secret",
        caCerts: [slapd.caPem],
      });
      assert.equal(refused.ok, false);
      assert.deepEqual(refused.steps.at(-1), {
        step: "Bind",
        status: "fail",
        detail: `The directory refused '${slapd.bindDn}' with this password`,
      });

      const nowhere = await probeLdap({
        url: slapd.url,
        baseDn: `ou=nobody,${slapd.baseDn}`,
        bindDn: slapd.bindDn,
        bindPassword: slapd.bindPassword,
      });
      assert.equal(nowhere.ok, false);
      assert.equal(
        nowhere.steps.at(-1)?.detail,
        `The base DN 'ou=nobody,${slapd.baseDn}' does not exist in the directory`,
      );

      const empty = await probeLdap({
        url: slapd.url,
        baseDn: slapd.baseDn,
        bindDn: slapd.bindDn,
        bindPassword: slapd.bindPassword,
        filter: "(&(objectClass=inetOrgPerson)(mail=nobody@nowhere.test))",
      });
      assert.equal(empty.ok, true);
      assert.equal(empty.steps.at(-1)?.status, "warn");
      assert.match(empty.steps.at(-1)!.detail, /the address list would be empty/);

      const noBase = await probeLdap({ url: slapd.url });
      assert.equal(noBase.ok, false);
      assert.deepEqual(noBase.steps.at(-1)?.step, "Settings");
      assert.match(noBase.steps.at(-1)!.detail, /The base DN is required/);
    } finally {
      await slapd.stop();
    }
  },
});

Deno.test({
  name: "the wizard saves the directory's base DN, bind DN, filter and password under the GAL source's keys",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const slapd = await startSlapd({ people: 2 });
    const box = await startSetupBox("pushbridge-ldap-");
    const server = box.server;
    try {
      const admin = await box.admin();
      const form = await admin.text("/wizard/mailstore");
      for (const field of ["ldapUrl", "ldapBaseDn", "ldapBindDn", "ldapBindPassword", "ldapFilter"]) {
        assert.match(form, new RegExp(`id="${field}"`));
      }
      assert.match(form, /stored in the box's database/);
      assert.match(form, /PUSHBRIDGE_LDAP_BIND_PASSWORD/);

      const missingBase = await admin.post("/wizard/mailstore", { ldapUrl: slapd.url, save: "1" });
      assert.equal(missingBase.status, 200);
      assert.match(await missingBase.text(), /a directory needs a search base/);

      const fields = {
        ldapUrl: slapd.url,
        ldapBaseDn: slapd.baseDn,
        ldapBindDn: slapd.bindDn,
        ldapBindPassword: slapd.bindPassword,
        ldapFilter: "(mail=*)",
      };
      // The page's test button: the same probe over the API, with the typed password.
      const probe = await admin.postJson("/api/probe/ldap", fields);
      assert.equal(probe.status, 200);
      assert.equal(probe.body.ok, true, JSON.stringify(probe.body.steps));
      assert.match(probe.body.steps.at(-1).detail, /^2 people with an address/);

      const saved = await admin.post("/wizard/mailstore", { ...fields, save: "1" });
      assert.equal(saved.headers.get("Location"), "/wizard/finish");
      const settings = server.store.settings;
      assert.equal(settings.get(LDAP_GAL_SETTINGS.url), slapd.url);
      assert.equal(settings.get(LDAP_GAL_SETTINGS.baseDn), slapd.baseDn);
      assert.equal(settings.get(LDAP_GAL_SETTINGS.bindDn), slapd.bindDn);
      assert.equal(settings.get(LDAP_GAL_SETTINGS.bindPassword), slapd.bindPassword);
      assert.equal(settings.get(LDAP_GAL_SETTINGS.filter), "(mail=*)");

      // Saving again with an empty password field keeps the saved one; the test uses it too.
      const again = await admin.post("/wizard/mailstore", { ...fields, ldapBindPassword: "", save: "1" });
      assert.equal(again.status, 303);
      assert.equal(settings.get(LDAP_GAL_SETTINGS.bindPassword), slapd.bindPassword);
      const retest = await admin.postJson("/api/probe/ldap", { ...fields, ldapBindPassword: "" });
      assert.equal(retest.body.ok, true, JSON.stringify(retest.body.steps));
      assert.doesNotMatch(await admin.text("/wizard/mailstore"), new RegExp(slapd.bindPassword));

      // No directory: every key goes, the password with them.
      await admin.post("/wizard/mailstore", { save: "1" });
      for (const key of Object.values(LDAP_GAL_SETTINGS)) assert.equal(settings.get(key), undefined, key);
      assert.ok(!JSON.stringify(server.store.audit.list()).includes(slapd.bindPassword));
    } finally {
      await box.close();
      await slapd.stop();
    }
  },
});
