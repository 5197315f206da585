import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { el, textEl, toXml } from "../../src/wbxml/mod.ts";
import { ADMIN_PASSWORD, consoleTest } from "./_browser.ts";

const folderSync = (key: string) =>
  el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", key));

consoleTest(
  "console: seeded login, dashboard shows a device that just synced, trace viewer, backup and restore with dry run",
  "console",
  async (box, browser) => {
    const { page } = browser;
    const setupUrl = box.server.setupUrl;
    const phone = box.client("alice", { deviceId: "ALICEPHONE1", deviceType: "iPhone" });
    assert.equal((await phone.command("FolderSync", folderSync("0"))).status, 200);

    // The seeded password logs in once and becomes a stored hash; a wrong one is refused first.
    await page.goto(`${setupUrl}/`);
    assert.match(page.url(), /\/login$/);
    await page.fill("#password", "not-the-password");
    await page.click("button[type=submit]");
    assert.match(await page.textContent(".notice") ?? "", /Wrong password/);
    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/wizard\/host$/);
    assert.ok(box.server.store.adminCredentials.get());
    box.server.store.settings.set("setup.completed", "1");

    await page.goto(`${setupUrl}/`);
    const recent = await page.textContent("#recent-devices") ?? "";
    assert.match(recent, /ALICEPHONE1/);
    assert.match(recent, /alice/);
    assert.match(await page.textContent("#device-count") ?? "", /^1$/);
    await browser.shot("11-dashboard-device");

    // Tracing: on for the device, a sync, then the redacted XML in the viewer.
    await page.click("#recent-devices a:has-text('ALICEPHONE1')");
    await page.waitForURL(/\/devices\/\d+$/);
    await page.click("button:has-text('Start tracing')");
    await page.waitForSelector(".notice:has-text('Tracing until')");
    assert.equal((await phone.command("FolderSync", folderSync("0"))).status, 200);
    await page.click("a:has-text('View the trace')");
    const trace = await page.textContent("main") ?? "";
    assert.match(trace, /FolderSync/);
    assert.match(trace, /<SyncKey>0<\/SyncKey>/);
    assert.match(trace, /<DisplayName>Inbox|<DisplayName>INBOX|<Type>2<\/Type>/);
    await browser.shot("12-trace-viewer");
    const download = await page.request.get(page.url() + ".txt");
    assert.match(await download.text(), /=== .* FolderSync .* -> HTTP 200/);

    await page.goto(`${setupUrl}/devices?q=alice`);
    assert.match(await page.textContent("#devices") ?? "", /ALICEPHONE1/);
    await page.goto(`${setupUrl}/devices?q=nobody`);
    assert.match(await page.textContent("#devices") ?? "", /No device matches/);

    // Backup, then restore a changed copy: the dry run shows the diff and changes nothing.
    box.server.store.settings.set("publicHostName", "old.example.test");
    await page.goto(`${setupUrl}/maintenance`);
    const [saved] = await Promise.all([
      page.waitForEvent("download"),
      page.click("a:has-text('Download settings backup')"),
    ]);
    const backup = JSON.parse(await Deno.readTextFile(await saved.path()));
    assert.equal(backup.settings.publicHostName, "old.example.test");
    backup.settings.publicHostName = "new.example.test";
    const file = {
      name: "backup.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify(backup)),
    };
    await page.setInputFiles("#backup", file);
    await page.click("button:has-text('Check (dry run)')");
    const diff = await page.textContent("#restore-diff") ?? "";
    assert.match(diff, /publicHostName.*changed.*old\.example\.test.*new\.example\.test/s);
    assert.equal(box.server.store.settings.get("publicHostName"), "old.example.test");
    await browser.shot("13-restore-dry-run");
    page.on("dialog", (dialog) => dialog.accept());
    await page.setInputFiles("#backup", file);
    await page.click("button[value=apply]");
    await page.waitForSelector(".notice:has-text('Settings restored')");
    assert.equal(box.server.store.settings.get("publicHostName"), "new.example.test");

    // A file that is not a backup is refused with a clear reason.
    await page.setInputFiles("#backup", {
      name: "x.json",
      mimeType: "application/json",
      buffer: Buffer.from('{"a":1}'),
    });
    await page.click("button:has-text('Check (dry run)')");
    assert.match(await page.textContent(".notice") ?? "", /not a Pushbridge settings backup/);

    // Policies: a user-level value shows where it comes from, and "Inherit" takes it back.
    await page.goto(`${setupUrl}/policies?scope=user:alice`);
    await page.fill("#v-MaxInactivityTimeDeviceLock", "300");
    await page.click("button:has-text('Save changes')");
    await page.waitForSelector(".notice:has-text('Saved MaxInactivityTimeDeviceLock=300')");
    const row = page.locator("tr:has(#v-MaxInactivityTimeDeviceLock)");
    assert.match(await row.textContent() ?? "", /set here/);
    await page.goto(`${setupUrl}/policies?scope=device:alice/ALICEPHONE1`);
    assert.match(
      await page.locator("tr:has(#v-MaxInactivityTimeDeviceLock)").textContent() ?? "",
      /inherited from user:alice/,
    );
    await browser.shot("15-policy-inherited");
    await page.goto(`${setupUrl}/policies?scope=user:alice`);
    await page.click("tr:has(#v-MaxInactivityTimeDeviceLock) button:has-text('Inherit')");
    await page.waitForSelector(".notice:has-text('inherited again')");
    assert.doesNotMatch(
      await page.locator("tr:has(#v-MaxInactivityTimeDeviceLock)").textContent() ?? "",
      /set here/,
    );
    await page.fill("#v-MaxInactivityTimeDeviceLock", "not-a-number");
    await page.click("button:has-text('Save changes')");
    assert.match(await page.textContent(".notice.error") ?? "", /MaxInactivityTimeDeviceLock/);

    // A wipe issued on the page reaches the phone: its next FolderSync meets Status 140, Provision says RemoteWipe.
    const wiped = box.server.store.devices.find("alice", "ALICEPHONE1")!;
    await page.goto(`${setupUrl}/devices/${wiped.id}`);
    await page.click("button:has-text('Wipe the whole device')");
    await page.waitForSelector(".notice:has-text('Wipe requested')");
    assert.match(await page.textContent("#wipe-state") ?? "", /wipe pending/);
    await browser.shot("16-wipe-requested");
    const refused = await phone.command("FolderSync", folderSync("0"));
    assert.match(toXml(refused.body!), /<Status>140<\/Status>/);
    const provision = await phone.command(
      "Provision",
      el(
        "Provision",
        "Provision",
        el(
          "Provision",
          "Policies",
          el("Provision", "Policy", textEl("Provision", "PolicyType", "MS-EAS-Provisioning-WBXML")),
        ),
      ),
    );
    assert.match(toXml(provision.body!), /<RemoteWipe\s*\/>|<RemoteWipe><\/RemoteWipe>/);
    await page.reload();
    assert.match(await page.textContent("#wipe-state") ?? "", /wipe sent/);
    await page.click("button:has-text('Cancel the wipe')");
    await page.waitForSelector(".notice:has-text('Wipe cancelled')");

    // Delete the partnership (confirmed) and see it in the audit log.
    const device = box.server.store.devices.find("alice", "ALICEPHONE1")!;
    await page.goto(`${setupUrl}/devices/${device.id}`);
    await page.click("button:has-text('Delete partnership')");
    await page.waitForURL(/\/devices\?deleted=1$/);
    assert.equal(box.server.store.devices.find("alice", "ALICEPHONE1"), undefined);
    await page.goto(`${setupUrl}/audit`);
    const audit = await page.textContent("#audit") ?? "";
    for (
      const action of [
        "admin.login",
        "device.trace-start",
        "settings.restore",
        "device-delete",
        "policy-set",
      ]
    ) {
      assert.match(audit, new RegExp(action.replace(".", "\\.")));
    }
    await browser.shot("14-audit-log");
  },
);
