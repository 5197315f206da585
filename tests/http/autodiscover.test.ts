import assert from "node:assert/strict";
import { Hono } from "hono";
import {
  AUTODISCOVER_NS,
  autodiscoverDnsRecords,
  AutodiscoverRequestError,
  createAutodiscover,
  parsePoxRequest,
} from "../../src/http/autodiscover.ts";
import { autodiscoverDomains, saveAutodiscoverDomains } from "../../src/store/mail_domains.ts";
import { Authenticator } from "../../src/http/auth.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { Store } from "../../src/store/mod.ts";

const XSD_VALIDATE = new URL("../../../shared/eas-xsd/validate.sh", import.meta.url).pathname;

const basic = (user: string, password: string) => "Basic " + btoa(`${user}:${password}`);

function poxRequest(email: string, schema: string = AUTODISCOVER_NS.mobileSync): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006">
  <Request>
    <EMailAddress>${email}</EMailAddress>
    <AcceptableResponseSchema>${schema}</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
}

function app(options: { domains?: string[]; publicHostName?: string } = {}) {
  const store = Store.open(":memory:");
  if (options.domains) saveAutodiscoverDomains(store.settings, options.domains);
  const auth = new Authenticator((c) => Promise.resolve(c.password === "alice-secret" ? "ok" : "denied"));
  const hono = new Hono();
  hono.use(
    "*",
    createAutodiscover({
      auth,
      settings: store.settings,
      log: silentLogger,
      ...(options.publicHostName ? { publicHostName: options.publicHostName } : {}),
      imapUrl: {
        implicitTls: true,
        hostname: "imap.example.test",
        port: 993,
        href: "imaps://imap.example.test",
      },
      smtpUrl: {
        implicitTls: false,
        hostname: "smtp.example.test",
        port: 587,
        href: "smtp://smtp.example.test",
      },
    }),
  );
  hono.all("*", (c) => c.text("fallthrough", 404));
  return { hono, store };
}

async function post(
  hono: Hono,
  path: string,
  body: string,
  authorization = basic("alice@example.test", "alice-secret"),
) {
  const response = await hono.request(`https://box.example.test${path}`, {
    method: "POST",
    body,
    headers: { "Content-Type": "text/xml", Authorization: authorization, Host: "box.example.test" },
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function validate(xml: string): Promise<{ code: number; messages: string }> {
  const dir = await Deno.makeTempDir({ prefix: "autodiscover-xsd-" });
  try {
    await Deno.writeTextFile(`${dir}/response.xml`, xml);
    const out = await new Deno.Command("bash", {
      args: [XSD_VALIDATE, `${dir}/response.xml`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      messages: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("POX autodiscover answers the mobilesync schema with the EAS URL under every capitalisation", async () => {
  const { hono } = app({ publicHostName: "mail.example.test" });
  for (
    const path of [
      "/autodiscover/autodiscover.xml",
      "/Autodiscover/Autodiscover.xml",
      "/AutoDiscover/AutoDiscover.XML",
    ]
  ) {
    const reply = await post(hono, path, poxRequest("alice@example.test"));
    assert.equal(reply.status, 200, path);
    assert.match(reply.headers.get("Content-Type") ?? "", /^text\/xml/);
    assert.match(
      reply.text,
      /<Type>MobileSync<\/Type><Url>https:\/\/mail\.example\.test\/Microsoft-Server-ActiveSync<\/Url>/,
    );
    assert.match(reply.text, /<EMailAddress>alice@example\.test<\/EMailAddress>/);
  }
  const reply = await post(hono, "/autodiscover/autodiscover.xml", poxRequest("alice@example.test"));
  const check = await validate(reply.text);
  assert.equal(check.code, 0, check.messages);
});

Deno.test("POX autodiscover uses the Host header when no public host name is set", async () => {
  const { hono } = app();
  const reply = await post(hono, "/autodiscover/autodiscover.xml", poxRequest("alice@example.test"));
  assert.match(reply.text, /<Url>https:\/\/box\.example\.test\/Microsoft-Server-ActiveSync<\/Url>/);
});

Deno.test("POX autodiscover asks for credentials and refuses bad ones with 401", async () => {
  const { hono } = app();
  const missing = await hono.request("https://box.example.test/autodiscover/autodiscover.xml", {
    method: "POST",
    body: poxRequest("alice@example.test"),
  });
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("WWW-Authenticate") ?? "", /^Basic /);
  await missing.body?.cancel();
  const wrong = await post(
    hono,
    "/autodiscover/autodiscover.xml",
    poxRequest("alice@example.test"),
    basic("alice@example.test", "nope"),
  );
  assert.equal(wrong.status, 401);
});

Deno.test("POX autodiscover answers a malformed request with ErrorCode 600 that validates", async () => {
  const { hono } = app();
  const reply = await post(hono, "/autodiscover/autodiscover.xml", "<Autodiscover><Request/></Autodiscover>");
  assert.equal(reply.status, 200);
  assert.match(reply.text, /<ErrorCode>600<\/ErrorCode><Message>Invalid Request<\/Message>/);
  const check = await validate(reply.text);
  assert.equal(check.code, 0, check.messages);
});

Deno.test("POX autodiscover answers an unknown response schema with ErrorCode 601", async () => {
  const { hono } = app();
  const reply = await post(
    hono,
    "/autodiscover/autodiscover.xml",
    poxRequest("alice@example.test", "http://example.test/other"),
  );
  assert.match(reply.text, /<ErrorCode>601<\/ErrorCode>/);
  const check = await validate(reply.text);
  assert.equal(check.code, 0, check.messages);
});

Deno.test("POX autodiscover answers Outlook's schema with an email account of IMAP and SMTP", async () => {
  const { hono } = app();
  const reply = await post(
    hono,
    "/autodiscover/autodiscover.xml",
    poxRequest("alice@example.test", AUTODISCOVER_NS.outlook),
  );
  assert.match(reply.text, new RegExp(`<Response xmlns="${AUTODISCOVER_NS.outlook}">`));
  assert.match(reply.text, /<AccountType>email<\/AccountType><Action>settings<\/Action>/);
  assert.match(reply.text, /<Type>IMAP<\/Type><Server>imap\.example\.test<\/Server><Port>993<\/Port>/);
  assert.match(reply.text, /<Type>SMTP<\/Type><Server>smtp\.example\.test<\/Server><Port>587<\/Port>/);
  assert.match(reply.text, /<LoginName>alice@example\.test<\/LoginName>/);
});

Deno.test("POX autodiscover redirects an address of another domain to the served domain", async () => {
  const { hono } = app({ domains: ["example.test"] });
  const reply = await post(
    hono,
    "/autodiscover/autodiscover.xml",
    poxRequest("alice@old.example"),
    basic("alice", "alice-secret"),
  );
  assert.match(reply.text, /<Action><Redirect>alice@example\.test<\/Redirect><\/Action>/);
  const check = await validate(reply.text);
  assert.equal(check.code, 0, check.messages);
  const outlook = await post(
    hono,
    "/autodiscover/autodiscover.xml",
    poxRequest("alice@old.example", AUTODISCOVER_NS.outlook),
    basic("alice", "alice-secret"),
  );
  assert.match(
    outlook.text,
    /<Action>redirectAddr<\/Action><RedirectAddr>alice@example\.test<\/RedirectAddr>/,
  );
});

Deno.test("POX autodiscover answers a GET with ErrorCode 600 after authentication", async () => {
  const { hono } = app();
  const response = await hono.request("https://box.example.test/Autodiscover/Autodiscover.xml", {
    headers: { Authorization: basic("alice", "alice-secret") },
  });
  assert.equal(response.status, 200);
  assert.match(await response.text(), /<ErrorCode>600<\/ErrorCode>/);
});

Deno.test("JSON autodiscover gives the ActiveSync and AutodiscoverV1 URLs and rejects other protocols", async () => {
  const { hono } = app({ publicHostName: "mail.example.test" });
  const get = async (path: string) => {
    const response = await hono.request(`https://box.example.test${path}`);
    return { status: response.status, body: await response.json() };
  };
  assert.deepEqual(
    await get("/autodiscover/autodiscover.json?Email=alice@example.test&Protocol=ActiveSync"),
    {
      status: 200,
      body: { Protocol: "ActiveSync", Url: "https://mail.example.test/Microsoft-Server-ActiveSync" },
    },
  );
  assert.deepEqual(
    await get("/Autodiscover/Autodiscover.json/v1.0/alice@example.test?Protocol=AutodiscoverV1"),
    {
      status: 200,
      body: { Protocol: "AutodiscoverV1", Url: "https://mail.example.test/autodiscover/autodiscover.xml" },
    },
  );
  const bad = await get("/autodiscover/autodiscover.json?Email=alice@example.test&Protocol=Rest");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.ErrorCode, "InvalidProtocol");
  assert.equal((await get("/autodiscover/autodiscover.json?Protocol=ActiveSync")).status, 400);
});

Deno.test("Other paths pass through the autodiscover middleware", async () => {
  const { hono } = app();
  const response = await hono.request("https://box.example.test/Microsoft-Server-ActiveSync");
  assert.equal(await response.text(), "fallthrough");
});

Deno.test("parsePoxRequest() rejects DOCTYPEs, missing elements and bad addresses", () => {
  assert.deepEqual(parsePoxRequest(poxRequest("a&amp;b@example.test")), {
    email: "a&b@example.test",
    schema: AUTODISCOVER_NS.mobileSync,
  });
  assert.throws(
    () => parsePoxRequest(`<!DOCTYPE x [<!ENTITY e "x">]>${poxRequest("a@b.test")}`),
    AutodiscoverRequestError,
  );
  assert.throws(() => parsePoxRequest(poxRequest("not-an-address")), /is not an email address/);
  assert.throws(
    () => parsePoxRequest("<Autodiscover><Request/></Autodiscover>"),
    /'EMailAddress' is missing/,
  );
});

Deno.test("Autodiscover domains are validated, stored and turned into DNS records", () => {
  const store = Store.open(":memory:");
  saveAutodiscoverDomains(store.settings, ["Example.test", " other.example ", "example.test"]);
  assert.deepEqual(autodiscoverDomains(store.settings), ["example.test", "other.example"]);
  assert.throws(
    () => saveAutodiscoverDomains(store.settings, ["bad domain"]),
    /'bad domain' is not a domain name/,
  );
  const records = autodiscoverDnsRecords(["example.test"], "mail.example.test");
  assert.deepEqual(records.map((r) => `${r.type} ${r.name} ${r.value}`), [
    "CNAME autodiscover.example.test mail.example.test",
    "SRV _autodiscover._tcp.example.test 0 0 443 mail.example.test",
  ]);
  saveAutodiscoverDomains(store.settings, []);
  assert.deepEqual(autodiscoverDomains(store.settings), []);
});
