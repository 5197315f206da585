import assert from "node:assert/strict";
import {
  checkChain,
  checkExpiry,
  checkKeyMatchesCert,
  readCertificateInfo,
  splitPemChain,
} from "../../src/tls/cert_info.ts";
import { generateSelfSigned } from "../../src/tls/self_signed.ts";
import { openssl, withTempDir } from "./_openssl.ts";

const OPTIONS = {
  commonName: "mail.example.test",
  dnsNames: ["mail.example.test"],
  ipAddresses: ["10.0.0.5", "2001:db8:0:0:1:0:0:1", "fe80::0:1"],
};

Deno.test("readCertificateInfo() reads names, validity, CA flag and the fingerprint openssl shows", async () => {
  const result = await generateSelfSigned(OPTIONS);
  const leaf = await readCertificateInfo(result.certPem);
  assert.equal(leaf.subjectCommonName, "mail.example.test");
  assert.equal(leaf.issuerCommonName, "Pushbridge local CA (mail.example.test)");
  assert.deepEqual(leaf.dnsNames, ["mail.example.test"]);
  assert.deepEqual(leaf.ipAddresses, ["10.0.0.5", "2001:db8::1:0:0:1", "fe80::1"]);
  assert.equal(leaf.isCa, false);
  const ca = await readCertificateInfo(result.caCertPem);
  assert.equal(ca.isCa, true);
  assert.equal(ca.subjectCommonName, ca.issuerCommonName);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/chain.pem`, result.certPem);
    const shown = await openssl(
      ["x509", "-in", "chain.pem", "-noout", "-fingerprint", "-sha256", "-dates"],
      dir,
    );
    assert.equal(shown.output.match(/Fingerprint=([0-9A-F:]+)/)?.[1], leaf.fingerprintSha256);
    const notAfter = shown.output.match(/notAfter=(.+)/)?.[1];
    assert.equal(new Date(notAfter!).getTime(), leaf.notAfter.getTime());
  });
});

Deno.test("readCertificateInfo() reads an openssl certificate with GeneralizedTime past 2050", async () => {
  await withTempDir(async (dir) => {
    const made = await openssl([
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "12000",
      "-subj",
      "/CN=long.example.test",
      "-addext",
      "subjectAltName=DNS:long.example.test,IP:192.0.2.1",
    ], dir);
    assert.equal(made.code, 0, made.output);
    const certPem = await Deno.readTextFile(`${dir}/cert.pem`);
    const info = await readCertificateInfo(certPem);
    assert.equal(info.subjectCommonName, "long.example.test");
    assert.deepEqual(info.dnsNames, ["long.example.test"]);
    assert.deepEqual(info.ipAddresses, ["192.0.2.1"]);
    assert.ok(info.notAfter.getUTCFullYear() >= 2050);
    const dates = await openssl(["x509", "-in", "cert.pem", "-noout", "-enddate"], dir);
    assert.equal(new Date(dates.output.replace("notAfter=", "").trim()).getTime(), info.notAfter.getTime());
    // openssl's self-signed certificates carry CA:TRUE by default.
    assert.equal(info.isCa, true);
  });
});

Deno.test("checkExpiry() tells ok, expiring, expired and not yet valid apart", () => {
  const info = { notBefore: new Date("2030-01-01T00:00:00Z"), notAfter: new Date("2030-12-31T00:00:00Z") };
  assert.equal(checkExpiry(info, new Date("2029-12-31T23:59:59Z")), "not-yet-valid");
  assert.equal(checkExpiry(info, new Date("2030-06-01T00:00:00Z")), "ok");
  assert.equal(checkExpiry(info, new Date("2030-12-01T00:00:01Z")), "expiring");
  assert.equal(checkExpiry(info, new Date("2030-11-01T00:00:00Z"), 60), "ok");
  assert.equal(checkExpiry(info, new Date("2030-11-01T00:00:01Z"), 60), "expiring");
  assert.equal(checkExpiry(info, new Date("2030-12-31T00:00:00Z")), "expiring");
  assert.equal(checkExpiry(info, new Date("2030-12-31T00:00:01Z")), "expired");
});

Deno.test("checkKeyMatchesCert() accepts the own key and detects a key of another certificate", async () => {
  const a = await generateSelfSigned(OPTIONS);
  const b = await generateSelfSigned(OPTIONS);
  assert.equal(await checkKeyMatchesCert(a.certPem, a.keyPem), true);
  assert.equal(await checkKeyMatchesCert(a.certPem, b.keyPem), false);
  assert.equal(await checkKeyMatchesCert(a.caCertPem, a.caKeyPem), true);
  assert.equal(await checkKeyMatchesCert(a.caCertPem, a.keyPem), false);
});

Deno.test("checkKeyMatchesCert() reads RSA PKCS#1, RSA PKCS#8 and SEC1 EC keys made by openssl", async () => {
  await withTempDir(async (dir) => {
    const run = async (...args: string[]) => {
      const result = await openssl(args, dir);
      assert.equal(result.code, 0, result.output);
    };
    await run("genrsa", "-traditional", "-out", "rsa1.pem", "2048");
    await run("pkcs8", "-topk8", "-nocrypt", "-in", "rsa1.pem", "-out", "rsa8.pem");
    await run("req", "-x509", "-key", "rsa8.pem", "-out", "rsa.crt", "-days", "30", "-subj", "/CN=rsa.test");
    await run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ec1.pem");
    await run("req", "-x509", "-key", "ec1.pem", "-out", "ec.crt", "-days", "30", "-subj", "/CN=ec.test");
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    assert.match(await read("rsa1.pem"), /BEGIN RSA PRIVATE KEY/);
    assert.match(await read("ec1.pem"), /BEGIN EC PRIVATE KEY/);
    assert.equal(await checkKeyMatchesCert(await read("rsa.crt"), await read("rsa1.pem")), true);
    assert.equal(await checkKeyMatchesCert(await read("rsa.crt"), await read("rsa8.pem")), true);
    assert.equal(await checkKeyMatchesCert(await read("ec.crt"), await read("ec1.pem")), true);
    assert.equal(await checkKeyMatchesCert(await read("ec.crt"), await read("rsa1.pem")), false);
    assert.equal(await checkKeyMatchesCert(await read("rsa.crt"), await read("ec1.pem")), false);
  });
});

Deno.test("checkKeyMatchesCert() explains unusable key text", async () => {
  const a = await generateSelfSigned(OPTIONS);
  await assert.rejects(checkKeyMatchesCert(a.certPem, "nothing here"), /PEM text holds no PRIVATE KEY block/);
  await assert.rejects(
    checkKeyMatchesCert(
      a.certPem,
      "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----",
    ),
    /Encrypted private keys are not supported/,
  );
  await assert.rejects(checkKeyMatchesCert("junk", a.keyPem), /PEM text holds no CERTIFICATE block/);
});

Deno.test("splitPemChain() returns each certificate and skips other blocks", async () => {
  const a = await generateSelfSigned(OPTIONS);
  const parts = splitPemChain(`${a.keyPem}comment\n${a.certPem}`);
  assert.equal(parts.length, 2);
  assert.equal(parts[1], a.caCertPem);
  assert.throws(() => splitPemChain(a.keyPem), /PEM text holds no CERTIFICATE block/);
});

Deno.test("checkChain() accepts leaf then CA and names each problem otherwise", async () => {
  const a = await generateSelfSigned(OPTIONS);
  const b = await generateSelfSigned({ ...OPTIONS, commonName: "other.test" });
  const [leafA, caA] = splitPemChain(a.certPem) as [string, string];
  const [leafB] = splitPemChain(b.certPem) as [string];
  assert.deepEqual(checkChain(a.certPem), []);
  assert.deepEqual(checkChain([leafA, caA]), []);
  assert.deepEqual(checkChain([caA]), []);
  assert.deepEqual(checkChain([caA, leafA]), [
    "Certificate 1 ('Pushbridge local CA (mail.example.test)') is issued by 'Pushbridge local CA (mail.example.test)' but the next is certificate 2 ('mail.example.test')",
  ]);
  assert.deepEqual(checkChain([leafA, b.caCertPem]), [
    "Certificate 1 ('mail.example.test') is issued by 'Pushbridge local CA (mail.example.test)' but the next is certificate 2 ('Pushbridge local CA (other.test)')",
  ]);
  // A leaf whose issuer CN matches a non-CA certificate.
  const c = await generateSelfSigned({ ...OPTIONS, commonName: "Pushbridge local CA (mail.example.test)" });
  const [leafC] = splitPemChain(c.certPem) as [string];
  assert.deepEqual(checkChain([leafA, leafC]), [
    "Certificate 2 ('Pushbridge local CA (mail.example.test)') issues certificate 1 ('mail.example.test') but is not a CA certificate",
  ]);
  assert.deepEqual(checkChain([leafB, "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"]), [
    "Certificate 2 cannot be parsed: Expected a TBSCertificate but the element ended at offset 0",
  ]);
  assert.deepEqual(checkChain("no pem"), ["No certificate found"]);
});
