import assert from "node:assert/strict";
import { galEntryOfLdap, ldapConfigOf, ldapLoader } from "../../../src/bridge/gal/ldap_source.ts";
import { BackendUnavailableError } from "../../../src/backend/types.ts";
import { startSlapd } from "../../harness/_slapd.ts";

Deno.test("galEntryOfLdap() maps inetOrgPerson attributes, aliases, photos and certificates", () => {
  const photo = new Uint8Array([0xff, 0xd8, 1]);
  const entry = galEntryOfLdap({
    dn: "uid=ada,ou=people,dc=example,dc=test",
    displayName: "Ada Lovelace",
    givenName: "Ada",
    sn: "Lovelace",
    mail: ["ada@example.test", "countess@example.test"],
    telephoneNumber: "+1 555 1",
    mobile: "+1 555 2",
    o: "Analytical Engines",
    physicalDeliveryOfficeName: "London",
    uid: "ada",
    jpegPhoto: photo,
    "userCertificate;binary": [new Uint8Array([0x30, 1])],
  });
  assert.deepEqual(entry, {
    displayName: "Ada Lovelace",
    email: "ada@example.test",
    aliases: ["countess@example.test"],
    firstName: "Ada",
    lastName: "Lovelace",
    phone: "+1 555 1",
    mobilePhone: "+1 555 2",
    company: "Analytical Engines",
    office: "London",
    alias: "ada",
    picture: photo,
    certificates: [new Uint8Array([0x30, 1])],
  });
  assert.equal(galEntryOfLdap({ dn: "cn=printer", cn: "Printer" }), undefined);
  assert.equal(galEntryOfLdap({ dn: "x", mail: "x@example.test", cn: "Only Cn" })?.displayName, "Only Cn");
});

Deno.test("ldapConfigOf() reads the settings and rejects bad values with clear messages", () => {
  const settings = (values: Record<string, string>) => (key: string) => values[key];
  assert.equal(ldapConfigOf(settings({})), undefined);
  assert.deepEqual(
    ldapConfigOf(settings({
      "gal.ldap.url": "ldap://dir.example:389/",
      "gal.ldap.base_dn": "dc=example",
      "gal.ldap.bind_dn": "cn=reader,dc=example",
      "gal.ldap.bind_password": "pw",
      "gal.ldap.starttls": "true",
      "gal.ldap.attributes": '{"company":"company"}',
    })),
    {
      url: "ldap://dir.example:389",
      baseDn: "dc=example",
      bindDn: "cn=reader,dc=example",
      bindPassword: "pw",
      startTls: true,
      attributes: { company: "company" },
    },
  );
  assert.throws(() => ldapConfigOf(settings({ "gal.ldap.url": "http://x" })), /must be ldap:\/\/host/);
  assert.throws(
    () => ldapConfigOf(settings({ "gal.ldap.url": "ldap://x" })),
    /"gal.ldap.base_dn" is required/,
  );
  assert.throws(
    () =>
      ldapConfigOf(
        settings({ "gal.ldap.url": "ldap://x", "gal.ldap.base_dn": "o=x", "gal.ldap.starttls": "y" }),
      ),
    /must be 'true' or 'false', got 'y'/,
  );
  assert.throws(
    () =>
      ldapConfigOf(
        settings({
          "gal.ldap.url": "ldap://x",
          "gal.ldap.base_dn": "o=x",
          "gal.ldap.attributes": '{"x":"y"}',
        }),
      ),
    /unknown field 'x'/,
  );
});

Deno.test("ldapLoader() reads a real slapd over plain bind and ldaps", async () => {
  const slapd = await startSlapd({ people: 300 });
  try {
    const base = { baseDn: slapd.baseDn, bindDn: slapd.bindDn, bindPassword: slapd.bindPassword };
    const plain = await ldapLoader({ ...base, url: slapd.url })();
    assert.equal(plain.length, 300);
    const first = plain.find((e) => e.email === slapd.people[0]!.mail)!;
    assert.equal(first.displayName, slapd.people[0]!.displayName);
    assert.deepEqual(first.picture, slapd.people[0]!.jpegPhoto);
    assert.deepEqual(first.certificates, [slapd.people[0]!.certificate]);
    assert.equal(first.company, "Example");
    assert.equal(first.alias, "p0000");
    const ldaps = await ldapLoader({ ...base, url: slapd.ldapsUrl, caCerts: [slapd.caPem] })();
    assert.equal(ldaps.length, 300);
    await assert.rejects(
      ldapLoader({ ...base, url: slapd.url, bindPassword: "wrong" })(),
      BackendUnavailableError,
    );
    // Without the harness CA the server certificate is not trusted.
    await assert.rejects(ldapLoader({ ...base, url: slapd.ldapsUrl })(), BackendUnavailableError);
  } finally {
    await slapd.stop();
  }
});
