import assert from "node:assert/strict";
import { runAdminCli } from "../../src/admin/cli.ts";
import { DeviceEventPoller } from "../../src/admin/events.ts";
import { NOTIFY_SETTINGS, SmtpNotifier } from "../../src/admin/notifier.ts";
import { evaluateAccess } from "../../src/admin/access.ts";
import { Store } from "../../src/store/mod.ts";
import type { AccessRule } from "../../src/store/mod.ts";

/** Runs the CLI against a data dir and captures its output. */
function cli(dataDir: string, ...args: string[]): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runAdminCli(args, { PUSHBRIDGE_DATA: dataDir, USER: "tester" }, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function withDataDir(fn: (dir: string, store: Store) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-admin-" });
  const store = Store.open(`${dir}/pushbridge.sqlite`);
  try {
    store.devices.sighted({
      user: "alice",
      deviceId: "PHONE1",
      deviceType: "iPhone",
      userAgent: "Apple-iPhone/1",
      protocolVersion: "16.1",
    });
    store.devices.sighted({
      user: "bob",
      deviceId: "OLD1",
      deviceType: "Android",
      userAgent: "Android/1",
      protocolVersion: "14.1",
    });
    await fn(dir, store);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("admin CLI: devices, wipe, wipe-cancel and device-delete on the live data dir, all audited", async () => {
  await withDataDir((dir, store) => {
    const listed = JSON.parse(cli(dir, "devices", "--json").out);
    assert.deepEqual(listed.map((d: { deviceId: string }) => d.deviceId).sort(), ["OLD1", "PHONE1"]);
    assert.equal(JSON.parse(cli(dir, "devices", "--user", "bob", "--json").out).length, 1);
    assert.match(cli(dir, "devices").out, /^USER\s+DEVICE\s+TYPE/);

    assert.equal(cli(dir, "wipe", "--user", "alice", "--device", "PHONE1", "--account-only").code, 0);
    assert.equal(store.deviceManagement.wipe("alice", "PHONE1")?.kind, "account");
    const refused = cli(dir, "wipe", "--user", "bob", "--device", "OLD1", "--account-only");
    assert.equal(refused.code, 1);
    assert.match(refused.err, /Account-only wipe needs protocol 16\.1; device 'OLD1' uses '14\.1'/);
    assert.equal(cli(dir, "wipe", "--user", "bob", "--device", "NOPE").code, 1);
    assert.equal(cli(dir, "wipe", "--user", "bob").code, 1);

    assert.match(
      cli(dir, "wipe-cancel", "--user", "alice", "--device", "PHONE1").out,
      /cancelled \(was pending\)/,
    );
    assert.equal(store.deviceManagement.wipe("alice", "PHONE1"), undefined);
    assert.equal(cli(dir, "wipe-cancel", "--user", "alice", "--device", "PHONE1").code, 1);

    assert.equal(cli(dir, "device-delete", "--user", "bob", "--device", "OLD1").code, 0);
    assert.equal(store.devices.find("bob", "OLD1"), undefined);

    const audit = JSON.parse(cli(dir, "audit", "--json").out) as {
      action: string;
      result: string;
      actor: string;
    }[];
    assert.deepEqual(audit.map((e) => `${e.action} ${e.result.split(":")[0]}`).reverse(), [
      "wipe-account ok",
      "wipe-account error",
      "wipe error",
      "wipe-cancel ok",
      "wipe-cancel error",
      "device-delete ok",
    ]);
    assert.ok(audit.every((e) => e.actor === "cli:tester"));
    assert.equal(cli(dir, "nonsense").code, 2);
  });
});

Deno.test("admin CLI: policy set, show and inherit across scopes with range checks", async () => {
  await withDataDir((dir) => {
    assert.equal(
      cli(dir, "policy", "set", "--scope", "box", "DevicePasswordEnabled=1", "MinDevicePasswordLength=6")
        .code,
      0,
    );
    assert.equal(cli(dir, "policy", "set", "--scope", "user:alice", "MinDevicePasswordLength=8").code, 0);
    const bad = cli(dir, "policy", "set", "--scope", "box", "MinDevicePasswordLength=99", "AllowCamera=0");
    assert.equal(bad.code, 1);
    assert.match(bad.err, /MinDevicePasswordLength: '99' is out of range 1-16/);
    const noDevice = cli(dir, "policy", "set", "--scope", "device:alice/GHOST", "AllowCamera=0");
    assert.match(noDevice.err, /No device 'GHOST' of user 'alice'/);
    assert.equal(cli(dir, "policy", "set", "--scope", "device:alice/PHONE1", "AllowCamera=0").code, 0);

    const shown = JSON.parse(cli(dir, "policy", "show", "--scope", "device:alice/PHONE1", "--json").out) as {
      rows: { key: string; value: string; source: string }[];
    };
    const row = (key: string) => shown.rows.find((r) => r.key === key)!;
    assert.deepEqual(row("DevicePasswordEnabled"), {
      ...row("DevicePasswordEnabled"),
      value: "1",
      source: "box",
    });
    assert.equal(row("MinDevicePasswordLength").source, "user:alice");
    assert.equal(row("MinDevicePasswordLength").value, "8");
    assert.equal(row("AllowCamera").source, "device:alice/PHONE1");
    assert.equal(row("AllowWiFi").source, "defaults");
    assert.match(cli(dir, "policy", "show").out, /Policy at box/);

    assert.equal(cli(dir, "policy", "inherit", "--scope", "user:alice", "MinDevicePasswordLength").code, 0);
    const after = JSON.parse(cli(dir, "policy", "show", "--scope", "user:alice", "--json").out) as {
      rows: { key: string; value: string; source: string }[];
    };
    assert.equal(after.rows.find((r) => r.key === "MinDevicePasswordLength")!.source, "box");
    assert.equal(cli(dir, "policy", "inherit", "--scope", "box").code, 0);
    assert.match(cli(dir, "policy", "show").out, /neutral/);
    assert.equal(cli(dir, "policy", "inherit", "--scope", "box", "Bogus").code, 1);
  });
});

Deno.test("admin CLI: access rules allow, block and quarantine in Exchange's order", async () => {
  await withDataDir((dir, store) => {
    assert.equal(cli(dir, "access", "quarantine", "--device-type", "Android").code, 0);
    assert.equal(cli(dir, "access", "block", "--model", "Pixel 3").code, 0);
    assert.equal(cli(dir, "access", "allow", "--user", "bob", "--device", "OLD1").code, 0);
    assert.equal(cli(dir, "access", "allow", "--device", "OLD1").code, 1);
    const rules = JSON.parse(cli(dir, "access", "list", "--json").out) as AccessRule[];
    assert.equal(rules.length, 3);
    const devices = JSON.parse(cli(dir, "devices", "--json").out) as {
      deviceId: string;
      access: { state: string };
    }[];
    assert.equal(devices.find((d) => d.deviceId === "OLD1")!.access.state, "allow");
    assert.equal(cli(dir, "access", "remove", String(rules.find((r) => r.match === "device")!.id)).code, 0);
    const now = JSON.parse(cli(dir, "devices", "--json").out) as {
      deviceId: string;
      access: { state: string };
    }[];
    assert.equal(now.find((d) => d.deviceId === "OLD1")!.access.state, "quarantine");
    assert.equal(cli(dir, "access", "remove", "999").code, 1);
    assert.ok(store.deviceManagement.lastEventId() > 0, "running servers learn of access changes");
  });
});

Deno.test("evaluateAccess(): device over user over model/type (strictest) over default", () => {
  const rule = (
    id: number,
    match: AccessRule["match"],
    action: AccessRule["action"],
    user = "",
    value = "",
  ): AccessRule => ({
    id,
    match,
    user,
    value,
    action,
    created: 0,
    createdBy: "t",
  });
  const subject = { user: "alice", deviceId: "D1", deviceType: "Android", model: "Pixel 3" };
  assert.equal(evaluateAccess([], subject).state, "allow");
  assert.equal(evaluateAccess([rule(1, "default", "quarantine")], subject).state, "quarantine");
  assert.equal(
    evaluateAccess([rule(1, "device-type", "quarantine"), rule(2, "model", "block", "", "pixel 3")], subject)
      .state,
    "block",
  );
  assert.equal(
    evaluateAccess([rule(1, "model", "block", "", "Pixel 3"), rule(2, "user", "allow", "alice")], subject)
      .state,
    "allow",
  );
  assert.equal(
    evaluateAccess([rule(1, "user", "block", "alice"), rule(2, "device", "allow", "alice", "D1")], subject)
      .state,
    "allow",
  );
});

Deno.test("the event poller kicks changes made by another connection once, and in-process ones at once", async () => {
  await withDataDir((dir, store) => {
    const kicked: string[] = [];
    const poller = new DeviceEventPoller({
      store,
      kick: (user, device) => (kicked.push(`${user}/${device ?? "*"}`), 1),
    });
    assert.equal(poller.poll(), 0);
    const id = store.deviceManagement.addEvent("alice", "PHONE1", "wipe");
    poller.deliver({ id, user: "alice", deviceId: "PHONE1" });
    assert.deepEqual(kicked, ["alice/PHONE1"]);
    assert.equal(cli(dir, "policy", "set", "--scope", "box", "AllowCamera=0").code, 0);
    assert.equal(poller.poll(), 3, "its own event and one per user of the box policy change");
    assert.deepEqual(kicked.sort(), ["alice/*", "alice/PHONE1", "bob/*"]);
    assert.equal(poller.poll(), 0);
  });
});

Deno.test("SmtpNotifier says why nothing was sent, and submits to user and admin when configured", async () => {
  await withDataDir(async (_dir, store) => {
    const sent: { recipients: string[]; from: string; user: string; message: string }[] = [];
    const submit = (o: { recipients: string[]; from: string; user: string; message: Uint8Array }) => {
      sent.push({ ...o, message: new TextDecoder().decode(o.message) });
      return Promise.resolve({ response: "250 ok" });
    };
    const unconfigured = new SmtpNotifier({ store, smtpUrl: "smtp://127.0.0.1:1", submit });
    assert.match(
      await unconfigured.notify("alice@example.test", "S", "T"),
      /^not sent: no notification sender configured/,
    );
    store.settings.set(NOTIFY_SETTINGS.sender, "pushbridge@example.test");
    store.settings.set(NOTIFY_SETTINGS.admin, "admin@example.test");
    const notifier = new SmtpNotifier({
      store,
      smtpUrl: "smtp://127.0.0.1:1",
      submit,
      env: { PUSHBRIDGE_NOTIFY_PASSWORD: "secret" },
    });
    const notice = await notifier.notify(
      "alice@example.test",
      "Device quarantined: D1 of alice",
      "Body text",
    );
    assert.match(notice, /^sent .* to alice@example\.test, admin@example\.test$/);
    assert.deepEqual(sent[0]!.recipients, ["alice@example.test", "admin@example.test"]);
    assert.equal(sent[0]!.user, "pushbridge@example.test");
    assert.match(sent[0]!.message, /Subject: Device quarantined: D1 of alice/);
    const failing = new SmtpNotifier({
      store,
      smtpUrl: "smtp://127.0.0.1:1",
      env: { PUSHBRIDGE_NOTIFY_PASSWORD: "secret" },
      submit: () => Promise.reject(new Error("Connection refused")),
    });
    assert.equal(await failing.notify("alice@example.test", "S", "T"), "failed: Connection refused");
  });
});
