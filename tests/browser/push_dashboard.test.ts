import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { ADMIN_PASSWORD, consoleTest, SCREENSHOT_DIR } from "./_browser.ts";
import { pingRequest } from "../../tools/eas_client/requests.ts";

const MAIL =
  "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: pushed to the chart\r\n\r\nhello\r\n";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

consoleTest(
  "dashboard: a Ping woken by mail delivered into Dovecot shows up in the push latency chart",
  "push-dashboard",
  async (box, browser) => {
    const { page } = browser;
    const setupUrl = box.server.setupUrl;
    const phone = box.client("alice", { deviceId: "ALICEPUSH1", deviceType: "iPhone" });
    const hierarchy = await phone.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
    );
    const inbox = childrenNamed(child(hierarchy.body, "Changes"), "Add")
      .find((add) => childText(add, "Type") === "2");
    assert.ok(inbox, "FolderSync lists the Inbox");

    await page.goto(`${setupUrl}/`);
    await page.fill("#password", ADMIN_PASSWORD);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/wizard\/host$/);
    box.server.store.settings.set("setup.completed", "1");
    await page.goto(`${setupUrl}/`);
    // Nothing pushed yet: the chart says so instead of drawing an empty frame.
    assert.match(await page.textContent("#push-latency") ?? "", /No pushes in the last hour yet/);
    assert.equal(await page.locator("#push-latency .push-minute").count(), 0);
    await browser.shot("21-push-latency-empty");

    // The phone holds a Ping on its Inbox; once the watcher has its baseline, mail arrives over LMTP.
    const ping = phone.command("Ping", pingRequest(300, [childText(inbox, "ServerId")!]));
    const hub = () => box.server.push.hub;
    for (let i = 0; i < 250 && !(hub().stats().held === 1 && hub().status()[0]?.keys); i++) await sleep(20);
    assert.equal(hub().stats().held, 1, "the Ping is held");
    const delivered = Date.now();
    await box.mailstore.deliver("alice", MAIL);
    const reply = await ping;
    const endToEnd = Date.now() - delivered;
    assert.equal(childText(reply.body, "Status"), "2", "the Ping is woken by the new mail");

    // The panel refreshes itself (every 5 s): the push appears without a reload.
    const mark = page.locator("#push-latency .push-minute");
    await mark.first().waitFor({ state: "attached", timeout: 15_000 });
    assert.equal(await mark.count(), 1, "one minute with pushes");
    assert.equal(await mark.getAttribute("data-pushes"), "1");
    const p50 = Number(await mark.getAttribute("data-p50"));
    const max = Number(await mark.getAttribute("data-max"));
    // The box's part of the push cannot be longer than delivery-to-answer as the test saw it.
    assert.ok(
      p50 >= 0 && p50 <= max && max <= endToEnd,
      `p50 ${p50} ms, max ${max} ms, end to end ${endToEnd} ms`,
    );
    assert.match(
      await page.textContent("#push-latency-summary") ?? "",
      /^1 push in the last hour: median .+, 99th percentile .+, slowest .+\.$/,
    );
    assert.match(await page.textContent("#push-latency") ?? "", /Measured from the moment/);
    assert.doesNotMatch(await page.textContent("#push-latency") ?? "", /No pushes/);
    console.log(`push latency on the dashboard: ${max} ms; LMTP delivery to Ping answer: ${endToEnd} ms`);
    await browser.shot("22-push-latency-chart");

    // /api/status serves the same figures to the CLI and scripts.
    const api = await (await page.request.get(`${setupUrl}/api/status`)).json();
    assert.equal(api.pushLatency.pushes, 1);
    assert.equal(api.pushLatency.minutes.length, 60);
    assert.equal(api.pushLatency.maxMs, max);

    // On a phone screen the chart keeps its labels in view and within the width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator("#push-latency").scrollIntoViewIfNeeded();
    const chart = await page.locator("#push-latency svg").boundingBox();
    assert.ok(chart && chart.width <= 390 && chart.width > 250, `chart width ${chart?.width}`);
    await page.locator("#push-latency").screenshot({ path: `${SCREENSHOT_DIR}23-push-latency-phone.png` });
  },
);
