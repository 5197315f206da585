import assert from "node:assert/strict";
import { NOTIFY_SETTINGS } from "../../src/admin/notifier.ts";
import { startMailstore } from "../harness/mod.ts";
import { peekMessage, uidsOf, waitForCount } from "../integration/send_fixture.ts";
import { startSetupBox } from "./_session.ts";

Deno.test({
  name:
    "the notification sender page saves the account and its test button submits a real message through SMTP",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mailstore = await startMailstore({ postfix: true, sieve: false });
    const box = await startSetupBox("pushbridge-notify-", {
      PUSHBRIDGE_SMTP_URL: mailstore.smtpUrl,
      PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
    });
    const server = box.server;
    const [alice, bob] = mailstore.users as [typeof mailstore.users[0], typeof mailstore.users[0]];
    try {
      const admin = await box.admin();
      const page = await admin.text("/notifications");
      assert.match(page, /id="sender"/);
      assert.match(page, /stored in the box's database/);

      // Nothing configured: the test says so instead of pretending.
      const unconfigured = await admin.post("/notifications/test", { to: bob.email });
      assert.equal(unconfigured.status, 400);
      assert.match(await unconfigured.text(), /Test message not sent: no notification sender configured/);

      const bad = await admin.post("/notifications", { sender: "not an address" });
      assert.equal(bad.status, 400);
      assert.match(await bad.text(), /The sender address &#39;not an address&#39; is not an email address/);
      assert.equal(server.store.settings.get(NOTIFY_SETTINGS.sender), undefined);

      const saved = await admin.post("/notifications", {
        sender: alice.email,
        login: alice.name,
        password: "wrong-password",
        admin: bob.email,
      });
      assert.equal(saved.status, 200);
      assert.match(await saved.text(), /Notification sender saved/);
      assert.equal(server.store.settings.get(NOTIFY_SETTINGS.admin), bob.email);

      // A refused login is shown as the SMTP server's refusal.
      const refused = await admin.postJson("/api/notifications/test", { to: bob.email });
      assert.equal(refused.body.ok, false);
      assert.match(refused.body.result, /^failed: /);

      // The right password (typed again), then an empty field keeps it.
      await admin.post("/notifications", {
        sender: alice.email,
        login: alice.name,
        password: alice.password,
        admin: bob.email,
      });
      await admin.post("/notifications", {
        sender: alice.email,
        login: alice.name,
        password: "",
        admin: bob.email,
      });
      assert.equal(server.store.settings.get(NOTIFY_SETTINGS.password), alice.password);
      const sent = await admin.post("/notifications/test", { to: bob.email });
      assert.equal(sent.status, 200);
      assert.match(
        await sent.text(),
        new RegExp(`Test message sent \\S+ to ${bob.email.replace(".", "\\.")}`),
      );
      assert.equal(await waitForCount(mailstore, "bob", 1), 1);
      const [uid] = await uidsOf(mailstore, "bob");
      const delivered = await peekMessage(mailstore, "bob", "INBOX", uid!);
      assert.match(delivered.text, /Subject: Pushbridge test message/);
      assert.match(delivered.text, new RegExp(`From: .*${alice.email.replace(".", "\\.")}`));

      assert.equal(
        (await admin.postJson("/api/notifications/test", { to: "nobody" })).body.result,
        "not sent: 'nobody' is not an email address",
      );
      const audit = server.store.audit.list();
      assert.ok(audit.some((e) => e.action === "settings.notifications-test" && e.result === "ok"));
      assert.ok(!JSON.stringify(audit).includes(alice.password));
      assert.doesNotMatch(await admin.text("/notifications"), new RegExp(alice.password));

      // Clearing the sender removes the account's password as well.
      await admin.post("/notifications", { sender: "", login: "", admin: "" });
      assert.equal(server.store.settings.get(NOTIFY_SETTINGS.password), undefined);
    } finally {
      await box.close();
      await mailstore.stop();
    }
  },
});
