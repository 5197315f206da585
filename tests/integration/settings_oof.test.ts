import assert from "node:assert/strict";
import { ManageSieveClient } from "../../src/bridge/sieve/managesieve_client.ts";
import { child, childText, el, textEl } from "../../src/wbxml/tree.ts";
import { imapCommand, messageCount } from "../harness/imap_peek.ts";
import { deliverLmtp } from "../harness/lmtp.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { startBox } from "./fixture.ts";

const S = "Settings";

function oofMessage(audience: string, enabled: boolean, reply: string) {
  return el(
    S,
    "OofMessage",
    el(S, audience),
    textEl(S, "Enabled", enabled),
    textEl(S, "ReplyMessage", reply),
    textEl(S, "BodyType", "Text"),
  );
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

Deno.test("Settings Oof round-trips through Dovecot ManageSieve, keeps the user's rules and the vacation reply is sent", async () => {
  const box = await startBox({ sieve: true, postfix: true });
  try {
    const { mailstore } = box;
    box.server.store.settings.set("sieve.url", `sieve://127.0.0.1:${mailstore.sievePort}`);
    box.server.store.settings.set("autodiscover.domains", "example.test");
    // The user's own script, active before the phone sets Out of Office.
    const sieve = await ManageSieveClient.connect(
      { hostname: "127.0.0.1", port: mailstore.sievePort, caCerts: [mailstore.caPem] },
      "alice",
      "alice-secret",
    );
    await sieve.putScript(
      "mine",
      'require ["fileinto"];\nif header :contains "subject" "[list]" {\n  fileinto "Junk";\n}\n',
    );
    await sieve.setActive("mine");
    await sieve.logout();

    const client = box.client("alice");
    const set = await client.command(
      "Settings",
      el(
        S,
        "Settings",
        el(
          S,
          "Oof",
          el(
            S,
            "Set",
            textEl(S, "OofState", 1),
            oofMessage("AppliesToInternal", true, "Internal: back on Monday"),
            oofMessage("AppliesToExternalKnown", true, "External: back on Monday"),
            oofMessage("AppliesToExternalUnknown", false, ""),
          ),
        ),
        el(
          S,
          "DeviceInformation",
          el(S, "Set", textEl(S, "Model", "iPhone15,2"), textEl(S, "OS", "iOS 18.1")),
        ),
        el(S, "UserInformation", el(S, "Get")),
        el(S, "RightsManagementInformation", el(S, "Get")),
      ),
    );
    assert.equal(set.status, 200);
    assert.equal(childText(set.body, "Status"), "1");
    assert.equal(childText(child(set.body, "Oof"), "Status"), "1");
    assert.equal(childText(child(set.body, "DeviceInformation"), "Status"), "1");
    const account = child(child(child(child(set.body, "UserInformation"), "Get"), "Accounts"), "Account");
    assert.equal(childText(child(account, "EmailAddresses"), "PrimarySmtpAddress"), "alice@example.test");
    const check = await validateWithXsd(set.raw);
    assert.ok(check.valid, check.messages);
    const device = box.server.store.devices.list("alice")[0]!;
    assert.equal(box.server.store.deviceInformation.get(device.id)?.model, "iPhone15,2");

    const get = await client.command(
      "Settings",
      el(S, "Settings", el(S, "Oof", el(S, "Get", textEl(S, "BodyType", "Text")))),
    );
    const got = child(child(get.body, "Oof"), "Get");
    assert.equal(childText(got, "OofState"), "1");
    const replies = (got?.children ?? []).filter((c) => c.name === "OofMessage").map((m) =>
      childText(m, "ReplyMessage")
    );
    assert.deepEqual(replies, ["Internal: back on Monday", "External: back on Monday", ""]);
    assert.ok((await validateWithXsd(get.raw)).valid);

    // The user's rule is still in the active script, beside the vacation block.
    const after = await ManageSieveClient.connect(
      { hostname: "127.0.0.1", port: mailstore.sievePort, caCerts: [mailstore.caPem] },
      "alice",
      "alice-secret",
    );
    const scripts = await after.listScripts();
    assert.deepEqual(scripts, [{ name: "mine", active: true }]);
    const text = await after.getScript("mine");
    await after.logout();
    assert.match(text, /fileinto "Junk";/);
    assert.match(text, /vacation :days 1/);

    // Mail from bob (internal) gets the internal reply, through LMTP's Sieve and Postfix.
    await deliverLmtp(
      mailstore.lmtpPort,
      "bob@example.test",
      ["alice@example.test"],
      "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: lunch?\r\nMessage-ID: <lunch@example.test>\r\n\r\nLunch today?\r\n",
    );
    assert.ok(
      await waitFor(async () => await messageCount(mailstore, "bob") > 0, 15_000),
      "no vacation reply",
    );
    const reply = await imapCommand(mailstore, "bob", ["SELECT INBOX", "FETCH 1 BODY.PEEK[]"]);
    assert.match(reply, /Internal: back on Monday/);
    assert.match(reply, /Auto-Submitted: auto-replied/i);

    // Turning it off removes the rule but keeps the user's script.
    const off = await client.command(
      "Settings",
      el(S, "Settings", el(S, "Oof", el(S, "Set", textEl(S, "OofState", 0)))),
    );
    assert.equal(childText(child(off.body, "Oof"), "Status"), "1");
    const again = await client.command(
      "Settings",
      el(S, "Settings", el(S, "Oof", el(S, "Get", textEl(S, "BodyType", "Text")))),
    );
    assert.equal(childText(child(child(again.body, "Oof"), "Get"), "OofState"), "0");
  } finally {
    await box.stop();
  }
});

Deno.test("Settings Oof answers Access denied when the mailstore has no ManageSieve", async () => {
  const box = await startBox({ sieve: false });
  try {
    box.server.store.settings.set("sieve.url", `sieve://127.0.0.1:${box.mailstore.sievePort}`);
    const reply = await box.client("alice").command(
      "Settings",
      el(S, "Settings", el(S, "Oof", el(S, "Get", textEl(S, "BodyType", "Text")))),
    );
    assert.equal(childText(reply.body, "Status"), "1");
    assert.equal(childText(child(reply.body, "Oof"), "Status"), "3");
    assert.ok((await validateWithXsd(reply.raw)).valid);
  } finally {
    await box.stop();
  }
});
