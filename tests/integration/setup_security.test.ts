import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { type RunningServer, startPushbridge } from "../../src/server.ts";
import { SESSION_COOKIE } from "../../src/setup/setup_app.ts";
import { generateSelfSigned } from "../../src/tls/self_signed.ts";

const PASSWORD = "seeded-admin-pw";

async function withBox(fn: (server: RunningServer) => Promise<void>): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-setup-" });
  const server = await startPushbridge(
    resolveSettings({
      PUSHBRIDGE_DATA: dataDir,
      PUSHBRIDGE_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_ADMIN_PASSWORD: PASSWORD,
    }),
    silentLogger,
  );
  try {
    await fn(server);
  } finally {
    await server.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

async function login(url: string, password = PASSWORD): Promise<Response> {
  return await fetch(`${url}/login`, {
    method: "POST",
    body: new URLSearchParams({ password }),
    redirect: "manual",
  });
}

function cookieOf(response: Response): string {
  const header = response.headers.get("Set-Cookie") ?? "";
  return header.split(";")[0]!;
}

async function csrfOf(url: string, cookie: string): Promise<string> {
  const html = await (await fetch(`${url}/maintenance`, { headers: { Cookie: cookie } })).text();
  return /<meta name="csrf" content="([^"]+)"/.exec(html)![1]!;
}

Deno.test("setup page: session cookie flags, CSRF on forms and API, login required, security headers", async () => {
  await withBox(async (server) => {
    const url = server.setupUrl;
    const anonymous = await fetch(`${url}/api/status`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const page = await fetch(`${url}/devices`, { redirect: "manual" });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("Location"), "/login");
    assert.match(page.headers.get("Content-Security-Policy") ?? "", /default-src 'self'/);
    await page.body?.cancel();

    const ok = await login(url);
    assert.equal(ok.status, 303);
    const setCookie = ok.headers.get("Set-Cookie") ?? "";
    assert.match(setCookie, new RegExp(`^${SESSION_COOKIE}=`));
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    await ok.body?.cancel();
    const cookie = cookieOf(ok);

    const status = await fetch(`${url}/api/status`, { headers: { Cookie: cookie } });
    assert.equal(status.status, 200);
    assert.equal((await status.json()).version.length > 0, true);

    // No token, or a wrong one: refused, nothing changes.
    const noToken = await fetch(`${url}/wizard/host`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({ publicHostName: "evil.example" }),
    });
    assert.equal(noToken.status, 403);
    await noToken.body?.cancel();
    const apiNoToken = await fetch(`${url}/api/probe/imap`, {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json", "X-CSRF-Token": "wrong" },
      body: "{}",
    });
    assert.equal(apiNoToken.status, 403);
    await apiNoToken.body?.cancel();
    assert.equal(server.store.settings.get("publicHostName"), undefined);

    const csrf = await csrfOf(url, cookie);
    const withToken = await fetch(`${url}/wizard/host`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({ publicHostName: "box.example.test", csrf }),
      redirect: "manual",
    });
    assert.equal(withToken.status, 303);
    await withToken.body?.cancel();
    assert.equal(server.store.settings.get("publicHostName"), "box.example.test");

    // Mail domains for Autodiscover: stored, and the DNS records to create are shown; a bad one is refused.
    const domains = await fetch(`${url}/wizard/host`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({
        publicHostName: "box.example.test",
        mailDomains: "Example.test, example.org",
        csrf,
      }),
      redirect: "manual",
    });
    assert.equal(domains.status, 303);
    await domains.body?.cancel();
    assert.equal(server.store.settings.get("autodiscover.domains"), "example.test,example.org");
    const hostPage = await (await fetch(`${url}/wizard/host`, { headers: { Cookie: cookie } })).text();
    assert.match(
      hostPage,
      /autodiscover\.example\.test<\/code><\/td><td>CNAME<\/td><td><code>box\.example\.test/,
    );
    assert.match(hostPage, /_autodiscover\._tcp\.example\.org/);
    const badDomain = await fetch(`${url}/wizard/host`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({ mailDomains: "not a domain", csrf }),
    });
    assert.match(await badDomain.text(), /is not a domain name/);
    assert.equal(server.store.settings.get("autodiscover.domains"), "example.test,example.org");

    // The probe API explains a bad address instead of failing vaguely.
    const probe = await fetch(`${url}/api/probe/imap`, {
      method: "POST",
      headers: { Cookie: cookie, "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ imapUrl: "pop3://mail.example.test", testUser: "a", testPassword: "b" }),
    });
    const result = await probe.json();
    assert.equal(result.ok, false);
    assert.match(result.steps[0].detail, /Scheme 'pop3' is not one of imap, imaps/);

    const logout = await fetch(`${url}/logout`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: new URLSearchParams({ csrf }),
      redirect: "manual",
    });
    await logout.body?.cancel();
    const after = await fetch(`${url}/api/status`, { headers: { Cookie: cookie } });
    assert.equal(after.status, 401);
    await after.body?.cancel();
  });
});

Deno.test("setup page: wrong passwords are rate limited per address with Retry-After", async () => {
  await withBox(async (server) => {
    for (let i = 0; i < 5; i++) {
      const r = await login(server.setupUrl, "wrong-password");
      assert.equal(r.status, 401);
      await r.body?.cancel();
    }
    const locked = await login(server.setupUrl, PASSWORD);
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get("Retry-After")) > 0);
    assert.match(await locked.text(), /Too many wrong passwords/);
    const refused = server.store.audit.list().filter((e) =>
      e.action === "admin.login" && e.result === "refused"
    );
    assert.equal(refused.length, 5);
  });
});

Deno.test("setup page: device-supplied text is escaped on every page that shows it", async () => {
  await withBox(async (server) => {
    const hostile = `<script>alert("x")</script>`;
    server.store.devices.sighted({
      user: "alice",
      deviceId: "EVIL1",
      deviceType: hostile,
      userAgent: `<img src=x onerror=alert(1)>`,
      protocolVersion: "16.1",
    });
    server.store.settings.set("setup.completed", "1");
    const r = await login(server.setupUrl);
    await r.body?.cancel();
    const cookie = cookieOf(r);
    const id = server.store.devices.find("alice", "EVIL1")!.id;
    for (const path of ["/", "/devices", `/devices/${id}`, "/policies?scope=device:alice/EVIL1"]) {
      const html = await (await fetch(`${server.setupUrl}${path}`, { headers: { Cookie: cookie } })).text();
      assert.ok(!html.includes("<script>alert"), path);
      assert.ok(!html.includes("<img src=x"), path);
    }
    const devices = await (await fetch(`${server.setupUrl}/devices`, { headers: { Cookie: cookie } })).text();
    assert.match(devices, /&#60;script&#62;/);
  });
});

Deno.test("setup wizard: an uploaded certificate is checked for its key, chain and host name before it is saved", async () => {
  await withBox(async (server) => {
    const r = await login(server.setupUrl);
    await r.body?.cancel();
    const cookie = cookieOf(r);
    const csrf = await csrfOf(server.setupUrl, cookie);
    server.store.settings.set("publicHostName", "mail.example.test");
    const good = await generateSelfSigned({
      commonName: "mail.example.test",
      dnsNames: ["mail.example.test"],
      ipAddresses: [],
    });
    const other = await generateSelfSigned({
      commonName: "other.example.test",
      dnsNames: ["other.example.test"],
      ipAddresses: [],
    });
    const upload = async (certPem: string, keyPem: string) => {
      const body = new FormData();
      body.set("csrf", csrf);
      body.set("mode", "upload");
      body.set("certPem", certPem);
      body.set("keyPem", keyPem);
      const response = await fetch(`${server.setupUrl}/wizard/tls`, {
        method: "POST",
        headers: { Cookie: cookie },
        body,
        redirect: "manual",
      });
      return { status: response.status, text: await response.text() };
    };
    assert.match(
      (await upload(good.certPem, other.keyPem)).text,
      /private key does not belong to the first certificate/,
    );
    assert.match(
      (await upload(other.certPem, other.keyPem)).text,
      /not valid for the host name &#39;mail.example.test&#39;/,
    );
    const reversed = good.caCertPem + good.certPem.replace(good.caCertPem, "");
    assert.match((await upload(reversed, good.keyPem)).text, /(chain is not in order|does not belong)/);
    assert.match((await upload("garbage", good.keyPem)).text, /certificate cannot be read/);
    assert.equal(server.store.settings.get("tls"), undefined);
    const saved = await upload(good.certPem, good.keyPem);
    assert.equal(saved.status, 303);
    const [certPath, keyPath] = server.store.settings.get("tls")!.split(":");
    assert.equal(await Deno.readTextFile(certPath!), good.certPem);
    assert.equal((await Deno.stat(keyPath!)).mode! & 0o777, 0o600);
  });
});
