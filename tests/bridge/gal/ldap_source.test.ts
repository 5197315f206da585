import assert from "node:assert/strict";
import { galEntryOfLdap, ldapConfigOf, ldapLoader } from "../../../src/bridge/gal/ldap_source.ts";
import { BackendUnavailableError } from "../../../src/backend/types.ts";
import { startLdapTap, startSlapd } from "../../harness/_slapd.ts";
import { generateCert } from "../../harness/_tls.ts";

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
  // Unset, StartTLS protects a bind password that would leave the machine; loopback and anonymous stay plain.
  const withBind = { "gal.ldap.base_dn": "o=x", "gal.ldap.bind_dn": "cn=r,o=x" };
  assert.equal(ldapConfigOf(settings({ ...withBind, "gal.ldap.url": "ldap://dir.example" }))?.startTls, true);
  assert.equal(
    ldapConfigOf(settings({ ...withBind, "gal.ldap.url": "ldap://127.0.0.1:3389" }))?.startTls,
    undefined,
  );
  assert.equal(
    ldapConfigOf(settings({ "gal.ldap.url": "ldap://dir.example", "gal.ldap.base_dn": "o=x" }))?.startTls,
    undefined,
  );
  assert.equal(
    ldapConfigOf(settings({ ...withBind, "gal.ldap.url": "ldaps://dir.example" }))?.startTls,
    undefined,
  );
  assert.equal(
    ldapConfigOf(
      settings({ ...withBind, "gal.ldap.url": "ldap://dir.example", "gal.ldap.starttls": "false" }),
    )
      ?.startTls,
    false,
  );
  assert.throws(
    () =>
      ldapConfigOf(
        settings({ ...withBind, "gal.ldap.url": "ldaps://dir.example", "gal.ldap.starttls": "true" }),
      ),
    /applies to ldap:\/\/ URLs/,
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

/** Whether `needle` occurs in `haystack` (bytes). */
function contains(haystack: Uint8Array, needle: string): boolean {
  const bytes = new TextEncoder().encode(needle);
  outer: for (let i = 0; i + bytes.length <= haystack.length; i++) {
    for (let j = 0; j < bytes.length; j++) if (haystack[i + j] !== bytes[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("ldapLoader() with StartTLS reads a slapd that refuses clear binds, and the password never crosses in clear", async () => {
  const slapd = await startSlapd({ people: 40, tls: "required" });
  const tap = startLdapTap(Number(new URL(slapd.url).port));
  try {
    const base = { baseDn: slapd.baseDn, bindDn: slapd.bindDn, bindPassword: slapd.bindPassword };
    // The server really refuses a bind before TLS (confidentialityRequired, RFC 4511 4.1.9)...
    await assert.rejects(
      ldapLoader({ ...base, url: slapd.url, startTls: false })(),
      /confidentiality required/,
    );
    // ...and StartTLS with the harness CA gets the whole directory.
    const people = await ldapLoader({ ...base, url: tap.url, startTls: true, caCerts: [slapd.caPem] })();
    assert.equal(people.length, 40);
    assert.equal(
      people.find((p) => p.email === slapd.people[0]!.mail)?.displayName,
      slapd.people[0]!.displayName,
    );
    const wire = tap.clientBytes();
    // The StartTLS extended request (RFC 4511 4.14.1) went out in clear, the bind only inside TLS.
    assert.ok(contains(wire, "1.3.6.1.4.1.1466.20037"));
    assert.ok(!contains(wire, slapd.bindPassword));
    assert.ok(!contains(wire, slapd.bindDn));
  } finally {
    await tap.close();
    await slapd.stop();
  }
});

Deno.test("ldapLoader() with StartTLS refuses a certificate from another CA or for another host, before the bind", async () => {
  const slapd = await startSlapd({ people: 5, tls: "required" });
  const otherDir = await Deno.makeTempDir({ prefix: "pushbridge-otherca-" });
  const tap = startLdapTap(Number(new URL(slapd.url).port));
  // 127.0.0.2 reaches the same slapd, but its certificate names 127.0.0.1 and localhost only.
  const elsewhere = startLdapTap(Number(new URL(slapd.url).port), "127.0.0.2");
  try {
    const other = await generateCert(otherDir);
    const base = {
      baseDn: slapd.baseDn,
      bindDn: slapd.bindDn,
      bindPassword: slapd.bindPassword,
      startTls: true,
    };
    await assert.rejects(
      ldapLoader({ ...base, url: tap.url, caCerts: [other.caPem] })(),
      (error: Error) => {
        assert.ok(error instanceof BackendUnavailableError);
        assert.match(error.message, /StartTLS with 'ldap:\/\/127\.0\.0\.1:\d+' failed: .*certificate/i);
        assert.match(error.message, /the bind password was not sent/);
        return true;
      },
    );
    await assert.rejects(
      ldapLoader({ ...base, url: elsewhere.url, caCerts: [slapd.caPem] })(),
      /StartTLS with 'ldap:\/\/127\.0\.0\.2:\d+' failed: .*127\.0\.0\.2/,
    );
    for (const wire of [tap.clientBytes(), elsewhere.clientBytes()]) {
      assert.ok(contains(wire, "1.3.6.1.4.1.1466.20037"));
      assert.ok(!contains(wire, slapd.bindPassword));
    }
  } finally {
    await tap.close();
    await elsewhere.close();
    await slapd.stop();
    await Deno.remove(otherDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("ldapLoader() with StartTLS against a server without TLS fails clearly and sends no password", async () => {
  const slapd = await startSlapd({ people: 5, tls: "none" });
  const tap = startLdapTap(Number(new URL(slapd.url).port));
  try {
    await assert.rejects(
      ldapLoader({
        url: tap.url,
        baseDn: slapd.baseDn,
        bindDn: slapd.bindDn,
        bindPassword: slapd.bindPassword,
        startTls: true,
        caCerts: [slapd.caPem],
      })(),
      /StartTLS with 'ldap:\/\/127\.0\.0\.1:\d+' failed: it does not offer StartTLS \(unsupported extended operation\); the bind password was not sent/,
    );
    assert.ok(!contains(tap.clientBytes(), slapd.bindPassword));
  } finally {
    await tap.close();
    await slapd.stop();
  }
});
