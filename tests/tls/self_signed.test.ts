import assert from "node:assert/strict";
import {
  generateSelfSigned,
  issueServerCertificate,
  p1363ToDerSignature,
} from "../../src/tls/self_signed.ts";
import { readCertificateInfo, splitPemChain } from "../../src/tls/cert_info.ts";
import { openssl, withTempDir } from "./_openssl.ts";

const OPTIONS = {
  commonName: "pushbridge.example.test",
  dnsNames: ["pushbridge.example.test", "localhost"],
  ipAddresses: ["127.0.0.1", "192.168.1.20", "::1", "fd00::20"],
};

Deno.test("generateSelfSigned() output passes openssl x509, verify and pkey", async () => {
  const result = await generateSelfSigned(OPTIONS);
  const [leafPem, caPem, extra] = splitPemChain(result.certPem);
  assert.equal(extra, undefined);
  assert.equal(caPem, result.caCertPem);
  assert.match(result.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/leaf.pem`, leafPem!);
    await Deno.writeTextFile(`${dir}/ca.pem`, result.caCertPem);
    await Deno.writeTextFile(`${dir}/key.pem`, result.keyPem);
    await Deno.writeTextFile(`${dir}/ca-key.pem`, result.caKeyPem);

    const leaf = await openssl(["x509", "-in", "leaf.pem", "-noout", "-text"], dir);
    assert.equal(leaf.code, 0, leaf.output);
    assert.match(leaf.output, /Version: 3 \(0x2\)/);
    assert.match(leaf.output, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(leaf.output, /NIST CURVE: P-256/);
    assert.match(leaf.output, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(leaf.output, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(leaf.output, /Extended Key Usage: \s*\n\s+TLS Web Server Authentication/);
    assert.match(
      leaf.output,
      /DNS:pushbridge\.example\.test, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:192\.168\.1\.20, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:20/,
    );
    assert.match(leaf.output, /Subject Key Identifier/);
    assert.match(leaf.output, /Authority Key Identifier/);
    assert.match(
      leaf.output,
      /Issuer: O = Pushbridge, CN = Pushbridge local CA \(pushbridge\.example\.test\)/,
    );
    assert.match(leaf.output, /Subject: CN = pushbridge\.example\.test/);

    const ca = await openssl(["x509", "-in", "ca.pem", "-noout", "-text"], dir);
    assert.equal(ca.code, 0, ca.output);
    assert.match(ca.output, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    assert.match(ca.output, /Key Usage: critical\s+Certificate Sign, CRL Sign/);

    // The leaf's AKI is the CA's SKI.
    const ski = ca.output.match(/Subject Key Identifier: *\n\s+([0-9A-F:]+)/)?.[1];
    assert.ok(ski);
    assert.match(leaf.output, new RegExp(`Authority Key Identifier: *\\n\\s+(keyid:)?${ski}`));

    const verify = await openssl(["verify", "-CAfile", "ca.pem", "leaf.pem"], dir);
    assert.equal(verify.code, 0, verify.output);
    assert.match(verify.output, /leaf\.pem: OK/);
    const purpose = await openssl(["verify", "-purpose", "sslserver", "-CAfile", "ca.pem", "leaf.pem"], dir);
    assert.equal(purpose.code, 0, purpose.output);

    for (const key of ["key.pem", "ca-key.pem"]) {
      const pkey = await openssl(["pkey", "-in", key, "-noout", "-text"], dir);
      assert.equal(pkey.code, 0, pkey.output);
      assert.match(pkey.output, /ASN1 OID: prime256v1/);
    }
    // openssl agrees the key belongs to the certificate.
    const fromCert = await openssl(["x509", "-in", "leaf.pem", "-noout", "-pubkey"], dir);
    const fromKey = await openssl(["pkey", "-in", "key.pem", "-pubout"], dir);
    assert.equal(fromCert.output, fromKey.output);
  });
});

Deno.test("generateSelfSigned() issues certificates of at most 825 days with random 16-byte serials", async () => {
  const now = new Date("2030-06-01T12:00:00Z");
  const first = await readCertificateInfo((await generateSelfSigned({ ...OPTIONS, now })).certPem);
  const second = await readCertificateInfo((await generateSelfSigned({ ...OPTIONS, now, days: 90 })).certPem);
  const days = (info: { notBefore: Date; notAfter: Date }) =>
    (info.notAfter.getTime() - info.notBefore.getTime()) / 86_400_000;
  assert.equal(days(first), 825);
  assert.equal(days(second), 90);
  assert.ok(first.notBefore < now && now.getTime() - first.notBefore.getTime() <= 3_600_000);
  assert.equal(first.serialNumber.length, 32);
  assert.notEqual(first.serialNumber, second.serialNumber);
  await assert.rejects(
    generateSelfSigned({ ...OPTIONS, days: 826 }),
    /Certificate lifetime '826' days is outside 1 to 825 \(iOS rejects longer server certificates\)/,
  );
});

Deno.test("generateSelfSigned() rejects names it cannot put in a certificate", async () => {
  await assert.rejects(
    generateSelfSigned({ ...OPTIONS, ipAddresses: ["300.1.1.1"] }),
    /'300\.1\.1\.1' is not an IPv4 or IPv6 address/,
  );
  await assert.rejects(
    generateSelfSigned({ ...OPTIONS, dnsNames: ["bad name"] }),
    /'bad name' is not a valid DNS name for a certificate/,
  );
  await assert.rejects(
    generateSelfSigned({ commonName: "x", dnsNames: [], ipAddresses: [] }),
    /Certificate needs at least one DNS name or IP address/,
  );
});

Deno.test("issueServerCertificate() signs a new leaf with an existing CA", async () => {
  const first = await generateSelfSigned(OPTIONS);
  const leaf = await issueServerCertificate(
    { certPem: first.caCertPem, keyPem: first.caKeyPem },
    { commonName: "other.test", dnsNames: ["other.test"], ipAddresses: [] },
  );
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, first.caCertPem);
    await Deno.writeTextFile(`${dir}/leaf.pem`, leaf.certPem);
    const verify = await openssl(["verify", "-CAfile", "ca.pem", "leaf.pem"], dir);
    assert.equal(verify.code, 0, verify.output);
  });
});

Deno.test("p1363ToDerSignature() turns r||s into an Ecdsa-Sig-Value with minimal integers", () => {
  const raw = new Uint8Array(64);
  raw[0] = 0x80; // r has its high bit set: needs a leading zero
  raw[63] = 0x01; // s is 1: leading zeros dropped
  const der = p1363ToDerSignature(raw);
  assert.deepEqual([...der.subarray(0, 5)], [0x30, 0x26, 0x02, 0x21, 0x00]);
  assert.deepEqual([...der.subarray(der.length - 3)], [0x02, 0x01, 0x01]);
  assert.throws(() => p1363ToDerSignature(new Uint8Array(3)), /ECDSA signature of 3 bytes is not r\|\|s/);
});

Deno.test("generateSelfSigned() cuts common names to the 64 characters X.509 allows but keeps the full SAN", async () => {
  const long = `${"a".repeat(60)}.example.test`;
  const result = await generateSelfSigned({ commonName: long, dnsNames: [long], ipAddresses: [] });
  const leaf = await readCertificateInfo(result.certPem);
  assert.equal(leaf.subjectCommonName, long.slice(0, 64));
  assert.equal(leaf.issuerCommonName, `Pushbridge local CA (${long}`.slice(0, 64));
  assert.deepEqual(leaf.dnsNames, [long]);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/ca.pem`, result.caCertPem);
    await Deno.writeTextFile(`${dir}/chain.pem`, result.certPem);
    const verify = await openssl(["verify", "-CAfile", "ca.pem", "chain.pem"], dir);
    assert.equal(verify.code, 0, verify.output);
  });
});
