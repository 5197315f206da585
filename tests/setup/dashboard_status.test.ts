import assert from "node:assert/strict";
import { LDAP_GAL_SETTINGS } from "../../src/bridge/gal/ldap_source.ts";
import { startSlapd } from "../harness/_slapd.ts";
import { startBox } from "../integration/fixture.ts";
import { adminSession } from "./_session.ts";

const PASSWORD = "seeded-admin-pw";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name:
    "dashboard status: the GAL directory's reachability, a write rate at the first look, and a watcher that lost the mailstore named with its reason",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const slapd = await startSlapd({ people: 2 });
    const box = await startBox({ env: { PUSHBRIDGE_ADMIN_PASSWORD: PASSWORD } });
    try {
      const settings = box.server.store.settings;
      settings.set("setup.completed", "1");
      settings.set(LDAP_GAL_SETTINGS.url, slapd.url);
      settings.set(LDAP_GAL_SETTINGS.baseDn, slapd.baseDn);
      settings.set(LDAP_GAL_SETTINGS.bindDn, slapd.bindDn);
      settings.set(LDAP_GAL_SETTINGS.bindPassword, slapd.bindPassword);
      const admin = await adminSession(box.server.setupUrl, PASSWORD);

      const first = await admin.json("/api/status");
      const services = first.mailstore.map((r: { service: string; ok: boolean }) => [r.service, r.ok]);
      assert.deepEqual(services, [["IMAP", true], ["SMTP", true], ["GAL/LDAP", true]]);
      const gal = first.mailstore.find((r: { service: string }) => r.service === "GAL/LDAP");
      assert.match(gal.detail, /^2 people with an address under/);
      if (Deno.build.os === "linux") {
        assert.equal(typeof first.flashWriteBytesPerSecond, "number", "a write rate at the first look");
        assert.ok(first.flashWriteWindowSeconds >= 0);
      }
      assert.deepEqual(first.push.problems, []);
      assert.equal(first.pushLatency.pushes, 0);

      // alice's Ping is held while the mailstore goes away: her watcher says why on the dashboard.
      const hub = box.server.push.hub;
      const held = hub.wait({
        user: "alice",
        device: "dash1",
        keys: ["imap:INBOX"],
        timeoutMs: 60_000,
        credentials: { user: "alice", password: "alice-secret" },
      });
      for (let i = 0; i < 250 && !hub.status()[0]?.keys; i++) await sleep(20);
      await box.mailstore.stop();
      let status = await admin.json("/api/status");
      for (let i = 0; i < 100 && status.push.problems.length === 0; i++) {
        await sleep(100);
        status = await admin.json("/api/status");
      }
      assert.equal(status.push.unreachable, 1);
      assert.equal(status.push.problems[0].user, "alice");
      assert.ok(status.push.problems[0].detail.length > 0);
      const panel = await admin.text("/dashboard/panel");
      assert.match(panel, /id="watcher-problems"><li class="fail">alice: /);
      assert.match(panel, /id="held-pings">1</);
      hub.kick("alice");
      assert.equal((await held).kind, "kicked");
    } finally {
      await box.stop();
      await slapd.stop();
    }
  },
});
