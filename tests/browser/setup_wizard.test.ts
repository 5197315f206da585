import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { startPushbridge } from "../../src/server.ts";
import { freePorts } from "../harness/free_port.ts";
import { startMailstore } from "../harness/mod.ts";
import { chromiumInstalled, openBrowser } from "./_browser.ts";

Deno.test({
  name:
    "first boot: password, host name, certificate, mailstore tests (one failing with its reason) and finish",
  ignore: !chromiumInstalled(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const mailstore = await startMailstore({ dav: true, postfix: false, sieve: false });
    const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-wizard-" });
    const server = await startPushbridge(
      resolveSettings({
        PUSHBRIDGE_DATA: dataDir,
        PUSHBRIDGE_LISTEN: "127.0.0.1:0",
        PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      }),
      silentLogger,
    );
    const browser = await openBrowser();
    const { page } = browser;
    const alice = mailstore.users[0]!;
    try {
      await page.goto(`${server.setupUrl}/`);
      assert.match(page.url(), /\/welcome$/);
      await browser.shot("01-welcome");
      await page.fill("#password", "office-admin-1");
      await page.fill("#confirm", "office-admin-1");
      await page.click("button[type=submit]");
      await page.waitForURL(/\/wizard\/host$/);
      await page.fill("#publicHostName", "mail.example.test");
      await browser.shot("02-wizard-host");
      await page.click("button:has-text('Save and continue')");
      await page.waitForURL(/\/wizard\/tls$/);
      assert.match(await page.textContent("main") ?? "", /Pushbridge local CA/);
      await browser.shot("03-wizard-certificate");
      await page.click("button:has-text('Save and continue')");
      await page.waitForURL(/\/wizard\/mailstore$/);

      await page.fill("#testUser", alice.name);
      await page.fill("#testPassword", alice.password);
      await page.fill("#caPem", mailstore.caPem);
      await page.fill("#imapUrl", mailstore.imapUrl);
      await page.click("button[data-probe=imap]");
      await page.waitForSelector("#probe-imap :text('connection works')");
      assert.match(await page.textContent("#probe-imap") ?? "", /STARTTLS handshake done/);
      assert.match(await page.textContent("#probe-imap") ?? "", /Logged in as 'alice'/);

      // A submission port where nothing listens: the test says so, in the admin's terms.
      const [closedPort] = freePorts(1);
      await page.fill("#smtpUrl", `smtp://127.0.0.1:${closedPort}`);
      await page.click("button[data-probe=smtp]");
      await page.waitForSelector("#probe-smtp :text('connection failed')");
      assert.match(await page.textContent("#probe-smtp") ?? "", /refused: nothing listens on port/);
      await page.fill("#smtpUrl", mailstore.smtpUrl);
      await page.click("button[data-probe=smtp]");
      await page.waitForSelector("#probe-smtp :text('connection works')");

      await page.fill("#davUrl", mailstore.davUrl!);
      await page.click("button[data-probe=dav]");
      await page.waitForSelector("#probe-dav :text('connection works')");
      assert.match(await page.textContent("#probe-dav") ?? "", /Calendar home/);
      await browser.shot("04-wizard-mailstore-tests");

      // A wrong password is reported as a refused login, not as a vague failure.
      await page.fill("#testPassword", "wrong-password");
      await page.click("button[data-probe=imap]");
      await page.waitForSelector("#probe-imap :text('connection failed')");
      assert.match(await page.textContent("#probe-imap") ?? "", /Login refused for 'alice'/);
      await browser.shot("05-wizard-login-refused");

      await page.click("button[name=save]");
      await page.waitForURL(/\/wizard\/finish$/);
      assert.match(
        await page.textContent("main") ?? "",
        new RegExp(mailstore.imapUrl.replace(/[.:/]/g, "\\$&")),
      );
      await browser.shot("06-wizard-finish");
      await page.click("button:has-text('Finish')");
      // Finish applies the mailstore at once; the host name (certificate names) waits for a restart.
      await page.waitForURL(/\/\?finished=applied&restart=publicHostName$/);
      const dashboard = await page.textContent("main") ?? "";
      assert.match(
        dashboard,
        /Setup finished\. Settings applied; the public host name \(in the certificate\) applies after a restart/,
      );
      assert.match(dashboard, /ok IMAP/);
      assert.match(dashboard, /ok SMTP/);
      assert.doesNotMatch(dashboard, /No mailstore configured yet/);
      await browser.shot("07-dashboard-first");

      assert.equal(server.store.settings.get("imapUrl"), mailstore.imapUrl);
      assert.equal(server.store.settings.get("smtpUrl"), mailstore.smtpUrl);
      assert.equal(server.store.settings.get("publicHostName"), "mail.example.test");
      assert.ok(server.store.adminCredentials.get()!.iterations >= 210_000);
      const actions = server.store.audit.list().map((e) => e.action);
      assert.ok(actions.includes("admin.password-set") && actions.includes("setup.mailstore"));
      assert.ok(!JSON.stringify(server.store.audit.list()).includes(alice.password));

      // The phone page on a phone-sized screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.setupUrl}/onboarding?user=alice`);
      assert.equal(
        await page.textContent("#server-name"),
        `mail.example.test:${new URL(server.easUrl).port}`,
      );
      assert.equal(await page.locator("svg.qr").count(), 1);
      await browser.shot("08-onboarding-phone");
      const profile = await page.request.get(`${server.setupUrl}/onboarding/profile?user=alice`);
      const text = await profile.text();
      assert.match(text, /com\.apple\.eas\.account/);
      assert.match(text, /com\.apple\.security\.root/);
    } catch (error) {
      await browser.shot("failure-wizard").catch(() => {});
      throw error;
    } finally {
      await browser.close();
      await server.close();
      await mailstore.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});
