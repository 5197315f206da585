import assert from "node:assert/strict";
import { ensureCertificate, loadCertificatePair, localHostNames, TLS_FILES } from "../../src/tls/load.ts";
import { checkKeyMatchesCert, readCertificateInfo, splitPemChain } from "../../src/tls/cert_info.ts";
import { generateSelfSigned } from "../../src/tls/self_signed.ts";
import { withTempDir } from "./_openssl.ts";

const NAMES = { dnsNames: ["localhost", "pb.example.test"], ipAddresses: ["127.0.0.1", "::1"] };
const DAY_MS = 86_400_000;

/** Deno's fetch takes a `client`; the DOM RequestInit type does not know it. */
function get(url: string, client: Deno.HttpClient): Promise<Response> {
  const init: RequestInit & { client: Deno.HttpClient } = { client };
  return fetch(url, init);
}

Deno.test("ensureCertificate() generates on first start, keeps keys private and reuses the set afterwards", async () => {
  await withTempDir(async (dir) => {
    const first = await ensureCertificate(dir, NAMES);
    assert.equal(first.generated, true);
    for (
      const [name, mode] of [[TLS_FILES.key, 0o600], [TLS_FILES.caKey, 0o600], [
        TLS_FILES.cert,
        0o644,
      ]] as const
    ) {
      assert.equal((await Deno.stat(`${dir}/tls/${name}`)).mode! & 0o777, mode, name);
    }
    assert.equal(await Deno.readTextFile(`${dir}/tls/${TLS_FILES.cert}`), first.certPem);
    assert.equal(await Deno.readTextFile(`${dir}/tls/${TLS_FILES.caCert}`), first.caCertPem);
    assert.equal(splitPemChain(first.certPem)[1], first.caCertPem);
    assert.equal(await checkKeyMatchesCert(first.certPem, first.keyPem), true);

    const second = await ensureCertificate(dir, NAMES);
    assert.deepEqual(second, { ...first, generated: false });
    // Names already covered, written differently, need no new certificate.
    const third = await ensureCertificate(dir, { dnsNames: ["LOCALHOST"], ipAddresses: ["0:0:0:0:0:0:0:1"] });
    assert.equal(third.generated, false);
  });
});

Deno.test("ensureCertificate() renews the leaf with the same CA for new names and near expiry", async () => {
  await withTempDir(async (dir) => {
    const first = await ensureCertificate(dir, NAMES);
    const moreNames = { ...NAMES, ipAddresses: [...NAMES.ipAddresses, "192.168.7.7"] };
    const renamed = await ensureCertificate(dir, moreNames);
    assert.equal(renamed.generated, true);
    assert.equal(renamed.caCertPem, first.caCertPem);
    assert.notEqual(renamed.certPem, first.certPem);
    assert.deepEqual((await readCertificateInfo(renamed.certPem)).ipAddresses, [
      "127.0.0.1",
      "::1",
      "192.168.7.7",
    ]);

    const info = await readCertificateInfo(renamed.certPem);
    const nearExpiry = new Date(info.notAfter.getTime() - 29 * DAY_MS);
    const renewed = await ensureCertificate(dir, moreNames, nearExpiry);
    assert.equal(renewed.generated, true);
    assert.equal(renewed.caCertPem, first.caCertPem);
    assert.ok((await readCertificateInfo(renewed.certPem)).notAfter > info.notAfter);

    const renewedInfo = await readCertificateInfo(renewed.certPem);
    const later = new Date(renewedInfo.notAfter.getTime() - 31 * DAY_MS);
    assert.equal((await ensureCertificate(dir, moreNames, later)).generated, false);
    // A clock behind the certificates (no RTC before NTP) replaces nothing.
    const before = await ensureCertificate(dir, moreNames, new Date("1970-01-02T00:00:00Z"));
    assert.deepEqual(before, { ...renewed, generated: false });
  });
});

Deno.test("ensureCertificate() replaces a damaged leaf, and the CA when its key is gone", async () => {
  await withTempDir(async (dir) => {
    const first = await ensureCertificate(dir, NAMES);
    await Deno.writeTextFile(`${dir}/tls/${TLS_FILES.cert}`, "garbage");
    const repaired = await ensureCertificate(dir, NAMES);
    assert.equal(repaired.generated, true);
    assert.equal(repaired.caCertPem, first.caCertPem);

    await Deno.remove(`${dir}/tls/${TLS_FILES.caKey}`);
    const newCa = await ensureCertificate(dir, NAMES);
    assert.equal(newCa.generated, true);
    assert.notEqual(newCa.caCertPem, first.caCertPem);
    assert.equal(splitPemChain(newCa.certPem)[1], newCa.caCertPem);
  });
});

Deno.test("a generated certificate serves TLS that fetch trusts by 127.0.0.1 and by localhost", async () => {
  await withTempDir(async (dir) => {
    const set = await ensureCertificate(dir, NAMES);
    const controller = new AbortController();
    const server = Deno.serve(
      {
        cert: set.certPem,
        key: set.keyPem,
        port: 0,
        hostname: "127.0.0.1",
        signal: controller.signal,
        onListen: () => {},
      },
      (request) => new Response(`hello ${new URL(request.url).hostname}`),
    );
    const client = Deno.createHttpClient({ caCerts: [set.caCertPem] });
    try {
      const port = server.addr.port;
      for (const host of ["127.0.0.1", "localhost"]) {
        const response = await get(`https://${host}:${port}/`, client);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), `hello ${host}`);
      }
      // Without the CA the same server is refused: trust comes from the CA, not from luck.
      const untrusting = Deno.createHttpClient({});
      try {
        await assert.rejects(get(`https://127.0.0.1:${port}/`, untrusting));
      } finally {
        untrusting.close();
      }
    } finally {
      client.close();
      controller.abort();
      await server.finished;
    }
  });
});

Deno.test("loadCertificatePair() loads a matching pair and names the file for each problem", async () => {
  await withTempDir(async (dir) => {
    const a = await generateSelfSigned({ commonName: "a.test", dnsNames: ["a.test"], ipAddresses: [] });
    const b = await generateSelfSigned({ commonName: "b.test", dnsNames: ["b.test"], ipAddresses: [] });
    await Deno.writeTextFile(`${dir}/a.crt`, a.certPem);
    await Deno.writeTextFile(`${dir}/a.key`, a.keyPem);
    await Deno.writeTextFile(`${dir}/b.key`, b.keyPem);
    await Deno.writeTextFile(`${dir}/junk`, "not pem");
    assert.deepEqual(await loadCertificatePair(`${dir}/a.crt`, `${dir}/a.key`), {
      certPem: a.certPem,
      keyPem: a.keyPem,
    });
    await assert.rejects(
      loadCertificatePair(`${dir}/missing.crt`, `${dir}/a.key`),
      new RegExp(`^Error: TLS certificate file '${dir}/missing\\.crt' cannot be read: `),
    );
    await assert.rejects(
      loadCertificatePair(`${dir}/a.crt`, `${dir}/missing.key`),
      new RegExp(`^Error: TLS key file '${dir}/missing\\.key' cannot be read: `),
    );
    await assert.rejects(
      loadCertificatePair(`${dir}/junk`, `${dir}/a.key`),
      new RegExp(
        `TLS certificate file '${dir}/junk' is not a PEM certificate: PEM text holds no CERTIFICATE block`,
      ),
    );
    await assert.rejects(
      loadCertificatePair(`${dir}/a.crt`, `${dir}/junk`),
      new RegExp(`TLS key file '${dir}/junk' cannot be used: PEM text holds no PRIVATE KEY block`),
    );
    await assert.rejects(
      loadCertificatePair(`${dir}/a.crt`, `${dir}/b.key`),
      new RegExp(`TLS key file '${dir}/b\\.key' does not belong to the certificate in '${dir}/a\\.crt'`),
    );
  });
});

Deno.test("localHostNames() lists the host name, localhost and loopback plus interface addresses", () => {
  const names = localHostNames();
  assert.ok(names.dnsNames.includes("localhost"));
  assert.ok(names.dnsNames.includes(Deno.hostname().toLowerCase()));
  assert.ok(names.ipAddresses.includes("127.0.0.1"));
  assert.ok(names.ipAddresses.includes("::1"));
  const expected = Deno.networkInterfaces()
    .filter((nic) => !nic.address.startsWith("127.") && nic.address !== "::1" && !/^fe80:/i.test(nic.address))
    .map((nic) => nic.address);
  for (const address of expected) assert.ok(names.ipAddresses.includes(address), address);
  assert.equal(new Set(names.ipAddresses).size, names.ipAddresses.length);
});
