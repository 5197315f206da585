import assert from "node:assert/strict";
import { el, textEl } from "../../src/wbxml/mod.ts";
import { ADMIN_PASSWORD, consoleTest, type TestBrowser } from "./_browser.ts";

const folderSync = (key: string) =>
  el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", key));

async function logIn(browser: TestBrowser, setupUrl: string): Promise<void> {
  await browser.page.goto(`${setupUrl}/login`);
  await browser.page.fill("#password", ADMIN_PASSWORD);
  await browser.page.click("button[type=submit]");
  await browser.page.waitForURL(/\/wizard\/host$/);
}

// The box gets its mailstore at start (startBox), not through the page's environment or store.
consoleTest(
  "wizard summary: a mailstore the service started with is shown in use with its source, and logging out is audited",
  "leftovers-summary",
  async (box, browser) => {
    const { page } = browser;
    const setupUrl = box.server.setupUrl;
    await logIn(browser, setupUrl);
    box.server.store.settings.set("publicHostName", "box.example.test");
    await page.goto(`${setupUrl}/wizard/finish`);
    const imap = await page.textContent("tr[data-setting=imapUrl]") ?? "";
    assert.ok(imap.includes(box.mailstore.imapUrl), imap);
    assert.match(imap, /given when the service started|environment variable PUSHBRIDGE_IMAP_URL/);
    assert.doesNotMatch(imap, /not set/);
    assert.match(await page.textContent("tr[data-setting=smtpUrl]") ?? "", /smtp:\/\/127\.0\.0\.1/);
    assert.match(
      await page.textContent("tr[data-setting=publicHostName]") ?? "",
      /Saved: box\.example\.test, applies after a restart/,
    );
    await browser.shot("17-wizard-finish-effective");

    await page.click("button:has-text('Log out')");
    await page.waitForURL(/\/login$/);
    const logout = box.server.store.audit.list().find((e) => e.action === "admin.logout");
    assert.ok(logout, "admin.logout in the audit log");
    assert.match(logout.detail, /^from /);
  },
);

consoleTest(
  "device page: the last requests of a phone are listed without protocol tracing",
  "leftovers-device",
  async (box, browser) => {
    const { page } = browser;
    const setupUrl = box.server.setupUrl;
    const phone = box.client("alice", { deviceId: "RECENTPHONE1", deviceType: "iPhone" });
    assert.equal((await phone.command("FolderSync", folderSync("0"))).status, 200);
    assert.equal((await phone.command("FolderSync", folderSync("0"))).status, 200);
    await logIn(browser, setupUrl);
    const device = box.server.store.devices.find("alice", "RECENTPHONE1")!;
    await page.goto(`${setupUrl}/devices/${device.id}`);
    // Tracing was never switched on: the list comes from the always-on memory record (src/log/recent_requests.ts).
    assert.doesNotMatch(await page.textContent("main") ?? "", /Tracing until/);
    const rows = await page.locator("#last-requests tr:has(td)").allTextContents();
    assert.equal(rows.length, 2, rows.join(" | "));
    for (const row of rows) assert.match(row, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dFolderSync200\d+$/);
    await browser.shot("18-device-last-requests");
  },
);
