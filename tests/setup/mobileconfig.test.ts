import assert from "node:assert/strict";
import { buildMobileConfig, pemBody } from "../../src/setup/mobileconfig.ts";
import { generateSelfSigned } from "../../src/tls/self_signed.ts";

async function xmllint(xml: string): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command("xmllint", { args: ["--noout", "-"], stdin: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(xml));
  await writer.close();
  const out = await child.output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("buildMobileConfig() writes a well-formed plist with the EAS account and the CA root payloads", async () => {
  const tls = await generateSelfSigned({
    commonName: "box.example.test",
    dnsNames: ["box.example.test"],
    ipAddresses: [],
  });
  const xml = await buildMobileConfig({
    host: "box.example.test:8443",
    user: "alice<&>",
    email: "alice@example.test",
    caCertPem: tls.caCertPem,
  });
  const lint = await xmllint(xml);
  assert.equal(lint.code, 0, lint.stderr);
  assert.match(xml, /<key>PayloadType<\/key><string>com\.apple\.eas\.account<\/string>/);
  assert.match(xml, /<key>Host<\/key><string>box\.example\.test:8443<\/string>/);
  assert.match(xml, /<key>UserName<\/key><string>alice&#60;&#38;&#62;<\/string>/);
  assert.match(xml, /<key>SSL<\/key><true\/>/);
  assert.match(xml, /<key>PayloadType<\/key><string>com\.apple\.security\.root<\/string>/);
  assert.ok(xml.includes(`<data>${pemBody(tls.caCertPem)}</data>`));
  // The same user gets the same UUIDs, so a new download replaces the installed profile.
  const again = await buildMobileConfig({
    host: "box.example.test:8443",
    user: "alice<&>",
    email: "alice@example.test",
  });
  const uuid = (text: string) => /<key>PayloadUUID<\/key><string>([0-9A-F-]{36})<\/string>/.exec(text)![1];
  assert.equal(uuid(again), uuid(xml));
  assert.doesNotMatch(again, /com\.apple\.security\.root/);
});
