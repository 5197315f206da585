/**
 * Transport and secrets: the EAS listener speaks TLS 1.2 and 1.3 only and
 * serves the whole chain (checked with the openssl command line, not with our
 * own code); logs at debug level, protocol traces and the database files never
 * contain a password, an Authorization header or a setup-page session cookie.
 */
import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { createLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { Store } from "../../src/store/mod.ts";
import { el, textEl } from "../../src/wbxml/mod.ts";
import { EasClient } from "../../tools/eas_client/client.ts";
import { startMailstore } from "../harness/mod.ts";

async function openssl(args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command("openssl", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

Deno.test("TLS 1.0 and 1.1 are refused, 1.2 and 1.3 are served with the whole chain, and secrets reach no log, trace or database file", async () => {
  const mailstore = await startMailstore({ postfix: true });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-secrets-" });
  const adminPassword = "Adm1n-pass-Zq7";
  const lines: string[] = [];
  const env = {
    PUSHBRIDGE_DATA: dataDir,
    PUSHBRIDGE_LISTEN: "127.0.0.1:0",
    PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
    PUSHBRIDGE_IMAP_URL: mailstore.imapUrl,
    PUSHBRIDGE_SMTP_URL: mailstore.smtpUrl,
    PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
    PUSHBRIDGE_ADMIN_PASSWORD: adminPassword,
  };
  const [alice, bob] = mailstore.users;
  const device = "secretsphone";
  let server = await startPushbridge(resolveSettings(env), createLogger("debug", (l) => lines.push(l)));
  try {
    // First run: the device appears; then tracing is switched on for it (the setup page's switch).
    const first = new EasClient({
      url: server.easUrl,
      user: alice!.name,
      password: alice!.password,
      deviceId: device,
      deviceType: "iPhone",
      protocolVersion: "16.1",
      caCerts: [server.caCertPem!],
    });
    await first.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    first.close();
    await server.close();
    const store = Store.open(`${dataDir}/pushbridge.sqlite`);
    const record = store.devices.find(alice!.name, device);
    assert.ok(record, "the device is known");
    store.traces.start(record.id, Date.now() + 3_600_000);
    store.close();
    server = await startPushbridge(resolveSettings(env), createLogger("debug", (l) => lines.push(l)));
    const port = new URL(server.easUrl).port;
    const caFile = `${dataDir}/tls/ca.pem`;

    // TLS versions, from a client that is not ours (SECLEVEL=0 so the client itself would offer 1.1).
    for (const version of ["-tls1", "-tls1_1"]) {
      const old = await openssl([
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        version,
        "-cipher",
        "DEFAULT@SECLEVEL=0",
      ]);
      assert.notEqual(old.code, 0, old.text);
      assert.doesNotMatch(old.text, /no protocols available/, `the client did offer ${version}`);
      assert.match(
        old.text,
        /alert protocol version|unsupported protocol|wrong version number|handshake failure/i,
      );
    }
    for (const version of ["-tls1_2", "-tls1_3"]) {
      const ok = await openssl([
        "s_client",
        "-connect",
        `127.0.0.1:${port}`,
        version,
        "-CAfile",
        caFile,
        "-verify_return_error",
        "-showcerts",
        "-servername",
        "localhost",
      ]);
      assert.equal(ok.code, 0, ok.text);
      assert.match(ok.text, /Verify return code: 0 \(ok\)/);
      // The leaf and its CA: a phone that lacks the CA in its store can still show the chain.
      assert.ok((ok.text.match(/BEGIN CERTIFICATE/g) ?? []).length >= 2, "the whole chain is served");
    }

    // Requests carrying the password: good and bad logins, Sync, SendMail (SMTP AUTH), Autodiscover.
    const client = new EasClient({
      url: server.easUrl,
      user: alice!.name,
      password: alice!.password,
      deviceId: device,
      deviceType: "iPhone",
      protocolVersion: "16.1",
      caCerts: [server.caCertPem!],
    });
    await client.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    const send = await client.command(
      "SendMail",
      el(
        "ComposeMail",
        "SendMail",
        textEl("ComposeMail", "ClientId", "secret1"),
        {
          ns: "ComposeMail",
          name: "Mime",
          opaque: new TextEncoder().encode(
            `From: ${alice!.email}\r\nTo: ${bob!.email}\r\nSubject: s\r\n\r\nx\r\n`,
          ),
        },
      ),
    );
    assert.equal(send.status, 200);
    const wrongPassword = "Wr0ng-pass-Kx9";
    const wrong = new EasClient({ ...client.options, password: wrongPassword, deviceId: "wrongdevice" });
    assert.equal((await wrong.probe()).status, 401);
    wrong.close();
    const http = Deno.createHttpClient({ caCerts: [server.caCertPem!] });
    const autodiscover = await fetch(`${server.easUrl}/autodiscover/autodiscover.xml`, {
      method: "POST",
      client: http,
      headers: { Authorization: "Basic " + btoa(`${alice!.name}:${alice!.password}`) },
      body:
        `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006"><Request><EMailAddress>${
          alice!.email
        }</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema></Request></Autodiscover>`,
    } as RequestInit);
    await autodiscover.body?.cancel();
    http.close();
    // The setup page: a login with the admin password sets a session cookie.
    const login = await fetch(`${server.setupUrl}/login`, {
      method: "POST",
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ password: adminPassword }),
    });
    await login.body?.cancel();
    const cookie = /=([^;]+)/.exec(login.headers.get("Set-Cookie") ?? "")?.[1];
    assert.ok(cookie && cookie.length > 8, `a session cookie (${login.status})`);
    const dashboard = await fetch(`${server.setupUrl}/`, {
      headers: { Cookie: `${/^[^=]+/.exec(login.headers.get("Set-Cookie")!)![0]}=${cookie}` },
    });
    await dashboard.body?.cancel();
    client.close();
    await server.close();

    const traces = Store.open(`${dataDir}/pushbridge.sqlite`);
    const traced = traces.traces.list(record.id);
    traces.close();
    assert.ok(traced.length >= 2, `${traced.length} traced exchanges`);

    const secrets: Record<string, string> = {
      "the user's password": alice!.password,
      "a wrong password": wrongPassword,
      "the admin password": adminPassword,
      "the Basic credentials": btoa(`${alice!.name}:${alice!.password}`),
      "the session cookie": cookie,
    };
    const places: Record<string, string> = {
      "the log": lines.join("\n"),
      "the traces": JSON.stringify(traced),
    };
    for (const entry of Deno.readDirSync(dataDir)) {
      if (entry.isFile) {
        places[`data file ${entry.name}`] = new TextDecoder("latin1").decode(
          Deno.readFileSync(`${dataDir}/${entry.name}`),
        );
      }
    }
    assert.ok(lines.some((l) => l.includes("eas.request")), `${lines.length} log lines`);
    const found: string[] = [];
    for (const [what, secret] of Object.entries(secrets)) {
      for (const [where, text] of Object.entries(places)) {
        if (text.includes(secret)) found.push(`${what} in ${where}`);
      }
    }
    for (const [where, text] of Object.entries(places)) {
      if (/authorization"?\s*[:=]\s*"?basic /i.test(text)) found.push(`an Authorization header in ${where}`);
    }
    assert.deepEqual(found, []);
  } finally {
    await server.close().catch(() => {});
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
