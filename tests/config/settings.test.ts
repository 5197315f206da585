import assert from "node:assert/strict";
import { ConfigError, resolveSettings } from "../../src/config/mod.ts";

Deno.test("resolveSettings() applies defaults when nothing is set", () => {
  const s = resolveSettings({});
  assert.equal(s.dataDir, "./data");
  assert.deepEqual(s.listen, { hostname: "0.0.0.0", port: 8443 });
  assert.deepEqual(s.setupListen, { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(s.tls, { mode: "self-signed" });
  assert.equal(s.imapUrl, undefined);
});

Deno.test("resolveSettings() lets the environment win over stored values", () => {
  const s = resolveSettings(
    { PUSHBRIDGE_IMAP_URL: "imaps://mail.example.test" },
    { imapUrl: "imap://old.example.test:143", smtpUrl: "smtp://mail.example.test:2587" },
  );
  assert.deepEqual(s.imapUrl, {
    implicitTls: true,
    hostname: "mail.example.test",
    port: 993,
    href: "imaps://mail.example.test",
  });
  assert.equal(s.smtpUrl?.port, 2587);
  assert.equal(s.smtpUrl?.implicitTls, false);
});

Deno.test("resolveSettings() names the setting and the problem for each bad value", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ PUSHBRIDGE_LISTEN: "8443" }, /^PUSHBRIDGE_LISTEN: '8443' is not of the form host:port$/],
    [{ PUSHBRIDGE_LISTEN: "0.0.0.0:70000" }, /^PUSHBRIDGE_LISTEN: port 70000 is out of range 0-65535/],
    [
      { PUSHBRIDGE_TLS: "maybe" },
      /^PUSHBRIDGE_TLS: 'maybe' is not 'self-signed', 'off' or CERT.pem:KEY.pem$/,
    ],
    [{ PUSHBRIDGE_IMAP_URL: "http://x" }, /^PUSHBRIDGE_IMAP_URL: scheme 'http' is not one of imap, imaps$/],
    [{ PUSHBRIDGE_SMTP_URL: "nonsense" }, /^PUSHBRIDGE_SMTP_URL: 'nonsense' is not a URL$/],
    [{ PUSHBRIDGE_DAV_URL: "ftp://x/" }, /^PUSHBRIDGE_DAV_URL: scheme 'ftp' is not http or https$/],
    [
      { PUSHBRIDGE_ADMIN_PASSWORD: "short" },
      /^PUSHBRIDGE_ADMIN_PASSWORD: must be at least 8 characters long$/,
    ],
  ];
  for (const [env, message] of cases) {
    assert.throws(
      () => resolveSettings(env),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("resolveSettings() reads TLS file pairs and IPv6 listen addresses", () => {
  const s = resolveSettings({ PUSHBRIDGE_TLS: "/etc/c.pem:/etc/k.pem", PUSHBRIDGE_LISTEN: "[::1]:9443" });
  assert.deepEqual(s.tls, { mode: "files", certFile: "/etc/c.pem", keyFile: "/etc/k.pem" });
  assert.deepEqual(s.listen, { hostname: "::1", port: 9443 });
});

Deno.test("resolveSettings() reads the admin heartbeat maximum", () => {
  assert.equal(resolveSettings({ PUSHBRIDGE_HEARTBEAT_MAX: "900" }).heartbeatMaxSeconds, 900);
  assert.equal(resolveSettings({}, { heartbeatMaxSeconds: "600" }).heartbeatMaxSeconds, 600);
});
