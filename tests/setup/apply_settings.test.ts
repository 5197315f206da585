import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { settingsToApply } from "../../src/setup/apply_settings.ts";
import { EasClient } from "../../tools/eas_client/client.ts";
import { startMailstore } from "../harness/mod.ts";
import { startSetupBox } from "./_session.ts";

Deno.test("settingsToApply() takes what changed in the store and keeps listeners, certificate and host name until a restart", () => {
  const boxEnv = {
    PUSHBRIDGE_DATA: "/tmp/box",
    PUSHBRIDGE_LISTEN: "127.0.0.1:0",
    PUSHBRIDGE_ADMIN_PASSWORD: "seeded-admin-pw",
  };
  const running = resolveSettings(boxEnv);
  const stored = {
    imapUrl: "imaps://mail.example.org",
    smtpUrl: "smtp://mail.example.org:587",
    publicHostName: "box.example.org",
    tls: "/etc/cert.pem:/etc/key.pem",
  };
  const applied = settingsToApply(running, boxEnv, stored, {});
  assert.equal(applied.settings.imapUrl?.hostname, "mail.example.org");
  assert.equal(applied.settings.imapUrl?.port, 993);
  assert.equal(applied.settings.smtpUrl?.port, 587);
  assert.equal(applied.settings.publicHostName, undefined);
  assert.deepEqual(applied.settings.tls, { mode: "self-signed" });
  assert.equal(applied.settings.dataDir, "/tmp/box");
  assert.deepEqual(applied.settings.listen, { hostname: "127.0.0.1", port: 0 });
  assert.equal(applied.settings.adminPassword, "seeded-admin-pw");
  assert.deepEqual(applied.restartNeeded, ["tls", "publicHostName"]);

  // The environment still wins over the store.
  const env = settingsToApply(running, { ...boxEnv, PUSHBRIDGE_IMAP_URL: "imap://env.example.org" }, {
    imapUrl: "imaps://mail.example.org",
  }, {});
  assert.equal(env.settings.imapUrl?.hostname, "env.example.org");
  assert.deepEqual(env.restartNeeded, []);

  // What nobody changed since the start stays, even when it did not come from the store; a cleared value goes.
  const given = { ...running, imapUrl: applied.settings.imapUrl!, smtpUrl: applied.settings.smtpUrl! };
  const kept = settingsToApply(given, {}, { smtpUrl: "smtp://other.example.org" }, {});
  assert.equal(kept.settings.imapUrl?.hostname, "mail.example.org");
  assert.equal(kept.settings.smtpUrl?.hostname, "other.example.org");
  const cleared = settingsToApply(given, {}, {}, { smtpUrl: "smtp://mail.example.org:587" });
  assert.equal(cleared.settings.smtpUrl, undefined);
  assert.equal(cleared.settings.imapUrl?.hostname, "mail.example.org");

  assert.throws(() => settingsToApply(running, boxEnv, { imapUrl: "ftp://x" }, {}), /PUSHBRIDGE_IMAP_URL/);
});

Deno.test({
  name:
    "the wizard's finish applies a new mailstore at once: phones log in and the dashboard shows it reachable",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mailstore = await startMailstore({ postfix: false, sieve: false });
    // The box re-reads the same environment when it applies settings, as `pushbridge serve` does.
    const box = await startSetupBox("pushbridge-apply-");
    const server = box.server;
    const alice = mailstore.users[0]!;
    const phone = (password: string) =>
      new EasClient({
        url: server.easUrl,
        user: alice.name,
        password,
        deviceId: "applytest1",
        deviceType: "iPhone",
        protocolVersion: "14.1",
        caCerts: [server.caCertPem!],
      });
    const folderSync = async (password: string) => {
      const client = phone(password);
      try {
        const reply = await client.send("FolderSync", undefined);
        return reply.status;
      } finally {
        client.close();
      }
    };
    try {
      const admin = await box.admin();
      // No mailstore yet: the box cannot check any password.
      assert.equal(await folderSync(alice.password), 503);
      const before = await admin.json("/api/status");
      assert.deepEqual(before.mailstore, []);

      const saved = await admin.post("/wizard/mailstore", {
        imapUrl: mailstore.imapUrl,
        smtpUrl: mailstore.smtpUrl,
        // Dovecot's STARTTLS certificate comes from the harness's own CA.
        caPem: mailstore.caPem,
        save: "1",
      });
      assert.equal(saved.headers.get("Location"), "/wizard/finish");
      const finished = await admin.post("/wizard/finish", {});
      assert.equal(finished.headers.get("Location"), "/?finished=applied");
      const dashboard = await admin.text("/?finished=applied");
      assert.match(dashboard, /Setup finished\. Settings applied: the box uses them now/);

      const after = await admin.json("/api/status");
      const imap = after.mailstore.find((r: { service: string }) => r.service === "IMAP");
      assert.equal(imap?.ok, true, JSON.stringify(after.mailstore));
      assert.match(imap.url, new RegExp(`:${new URL(mailstore.imapUrl).port}`));
      assert.equal(after.mailstore.find((r: { service: string }) => r.service === "SMTP")?.ok, true);
      // The phone's login now reaches Dovecot: a wrong password is refused, the right one passes.
      assert.equal(await folderSync("wrong-password"), 401);
      assert.notEqual(await folderSync(alice.password), 401);
      assert.notEqual(await folderSync(alice.password), 503);
      assert.ok(server.store.audit.list().some((e) => e.action === "settings.applied"));
    } finally {
      await box.close();
      await mailstore.stop();
    }
  },
});
