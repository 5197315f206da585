import assert from "node:assert/strict";
import { DeviceAdmin } from "../../src/admin/device_admin.ts";
import { runAdminCli } from "../../src/admin/cli.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient, EasReply } from "../../tools/eas_client/client.ts";
import { POLICY_TYPES, provision, type ProvisionOutcome } from "../../tools/eas_client/provision.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { type Box, startBox } from "./fixture.ts";
import { pingRequest } from "../../tools/eas_client/requests.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";

const P = "Provision";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The first Provision request by hand (the wipe orders and DeviceInformation tests look at its answer). */
function initialRequest(type: string, extra: WbxmlElement[] = []): WbxmlElement {
  return el(P, "Provision", ...extra, el(P, "Policies", el(P, "Policy", textEl(P, "PolicyType", type))));
}

async function assertValid(reply: EasReply): Promise<void> {
  const result = await validateWithXsd(reply.raw);
  assert.ok(result.valid, result.messages);
}

/**
 * The two-step handshake of the bundled client (tools/eas_client/provision.ts, which checks the
 * statuses and keys), with both WBXML answers checked against Microsoft's schemas.
 */
async function handshake(client: EasClient): Promise<ProvisionOutcome> {
  const replies: EasReply[] = [];
  const recording = Object.create(client, {
    command: {
      value: async (...args: Parameters<EasClient["command"]>) => {
        const reply = await client.command(...args);
        replies.push(reply);
        return reply;
      },
    },
  }) as EasClient;
  const outcome = await provision(recording);
  assert.equal(replies.length, 2);
  const type = client.options.protocolVersion === "2.5" ? POLICY_TYPES.xml : POLICY_TYPES.wbxml;
  assert.equal(childText(outcome.policy, "PolicyType"), type);
  assert.match(outcome.temporaryKey, /^\d+$/);
  assert.notEqual(outcome.finalKey, outcome.temporaryKey);
  assert.equal(client.options.policyKey, outcome.finalKey);
  if (client.options.protocolVersion !== "2.5") { for (const reply of replies) await assertValid(reply); }
  return outcome;
}

const folderSync = (client: EasClient) =>
  client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );

async function withBox(fn: (box: Box, admin: DeviceAdmin) => Promise<void>): Promise<void> {
  const box = await startBox();
  try {
    const admin = new DeviceAdmin({
      store: box.server.store,
      actor: "test:admin",
      onEvent: (event) => box.server.deviceEvents.deliver(event),
    });
    await fn(box, admin);
  } finally {
    await box.stop();
  }
}

function docValue(policy: WbxmlElement, name: string): string | undefined {
  return childText(child(child(policy, "Data"), "EASProvisionDoc"), name);
}

Deno.test("14.1 and 16.1 handshakes over TLS: Status 142 before, the policy with a temporary key, the final key after; a policy change asks for 143", async () => {
  await withBox(async (box, admin) => {
    admin.setPolicy("box", ["DevicePasswordEnabled=1", "MinDevicePasswordLength=6", "AllowCamera=0"]);
    const client = box.client(undefined, { protocolVersion: "14.1", policyKey: "0" });
    const refused = await folderSync(client);
    assert.equal(refused.status, 200);
    assert.equal(childText(refused.body, "Status"), "142");
    await assertValid(refused);

    const { policy } = await handshake(client);
    assert.equal(docValue(policy, "DevicePasswordEnabled"), "1");
    assert.equal(docValue(policy, "MinDevicePasswordLength"), "6");
    assert.equal(docValue(policy, "AllowCamera"), "0");
    assert.equal(
      childText(child(await folderSync(client).then((r) => r.body), "Changes"), "Count") !== undefined,
      true,
    );

    // A policy change: the old key is refused with 143 until the phone provisions again.
    admin.setPolicy("user:" + client.options.user, ["MinDevicePasswordLength=8"]);
    const refresh = await folderSync(client);
    assert.equal(childText(refresh.body, "Status"), "143");
    const again = await handshake(client);
    assert.equal(docValue(again.policy, "MinDevicePasswordLength"), "8");
    assert.equal(childText(await folderSync(client).then((r) => r.body), "Status"), "1");
    // A key the box never issued.
    const wrong = await client.command(
      "FolderSync",
      el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      {},
      { "X-MS-PolicyKey": "12345" },
    );
    assert.equal(childText(wrong.body, "Status"), "144");

    // 16.1 sends DeviceInformation inside Provision; it is stored and answered.
    const phone = box.client(undefined, { protocolVersion: "16.1", policyKey: "0", deviceType: "iPhone" });
    const info = el(
      "Settings",
      "DeviceInformation",
      el(
        "Settings",
        "Set",
        textEl("Settings", "Model", "iPhone15,2"),
        textEl("Settings", "OS", "iOS 17.4"),
        textEl("Settings", "FriendlyName", "Alice's phone"),
      ),
    );
    const first = await phone.command("Provision", initialRequest(POLICY_TYPES.wbxml, [info]));
    await assertValid(first);
    assert.equal(childText(child(first.body, "DeviceInformation", "Settings"), "Status", "Settings"), "1");
    await handshake(phone);
    const listed = admin.devices(phone.options.user).find((d) => d.deviceId === phone.options.deviceId)!;
    assert.equal(listed.model, "iPhone15,2");
    assert.equal(listed.policy, "applied");
    assert.equal(admin.devices().find((d) => d.deviceId === client.options.deviceId)!.policy, "applied");

    // Back to the neutral policy: phones re-provision and get a document that lifts the restrictions.
    admin.inheritPolicy("box");
    admin.inheritPolicy("user:" + client.options.user);
    assert.equal(childText((await folderSync(client)).body, "Status"), "143");
    const neutral = await handshake(client);
    assert.equal(docValue(neutral.policy, "DevicePasswordEnabled"), "0");
    assert.equal(docValue(neutral.policy, "AllowCamera"), "1");
  });
});

Deno.test("12.1 is refused with HTTP 449 until it provisions; 2.5 gets the wap-provisioningdoc", async () => {
  await withBox(async (box, admin) => {
    admin.setPolicy("box", [
      "DevicePasswordEnabled=1",
      "MaxInactivityTimeDeviceLock=300",
      "MaxDevicePasswordFailedAttempts=8",
    ]);
    const old = box.client(undefined, { protocolVersion: "12.1", policyKey: "0" });
    assert.equal((await folderSync(old)).status, 449);
    const { policy } = await handshake(old);
    assert.equal(docValue(policy, "MaxInactivityTimeDeviceLock"), "300");
    assert.equal(docValue(policy, "AllowCamera"), "1", "12.1 elements are sent to 12.1");
    assert.equal((await folderSync(old)).status, 200);

    const legacy = box.client(undefined, { protocolVersion: "2.5", policyKey: "0" });
    assert.equal((await folderSync(legacy)).status, 449);
    const xml = await handshake(legacy);
    const data = childText(xml.policy, "Data")!;
    assert.match(data, /^<wap-provisioningdoc>/);
    assert.match(data, /<parm name="4131" value="0"\/>/);
    assert.match(data, /<parm name="AEFrequencyValue" value="5"\/>/);
    assert.match(data, /<parm name="DeviceWipeThreshold" value="8"\/>/);
    assert.equal((await folderSync(legacy)).status, 200);

    // Without a key at all a non-provisionable device is allowed by default, refused once the policy says so.
    const plain = box.client(undefined, { protocolVersion: "14.1" });
    assert.equal(childText((await folderSync(plain)).body, "Status"), "1");
    admin.setPolicy("box", ["AllowNonProvisionableDevices=0"]);
    assert.equal(childText((await folderSync(plain)).body, "Status"), "142");
  });
});

Deno.test("a wipe reaches a phone holding a Ping, stays active after reconnects and re-pairing until cancelled", async () => {
  await withBox(async (box, admin) => {
    const client = box.client(undefined, { protocolVersion: "14.1", policyKey: "0" });
    await handshake(client);
    const folders = childrenNamed(child((await folderSync(client)).body, "Changes"), "Add");
    const inbox = childText(folders.find((f) => childText(f, "Type") === "2"), "ServerId")!;
    const held = client.command("Ping", pingRequest(300, [inbox]));
    for (let i = 0; i < 200 && box.server.push.hub.stats().held < 1; i++) await sleep(20);
    const user = client.options.user;
    const deviceId = client.options.deviceId;
    const started = performance.now();
    admin.wipe(user, deviceId);
    const woke = await held;
    assert.ok(performance.now() - started < 2000);
    assert.equal(childText(woke.body, "Status"), "2");

    const sync = await client.command("Sync", syncRequest(inbox, "0"));
    assert.equal(childText(sync.body, "Status"), "140");
    await assertValid(sync);
    const order = await client.command("Provision", initialRequest(POLICY_TYPES.wbxml));
    assert.ok(child(order.body, "RemoteWipe"), "the Provision answer orders the wipe");
    await assertValid(order);
    assert.equal(admin.devices(user)[0]!.wipe?.state, "sent");
    const answered = await client.command(
      "Provision",
      el(P, "Provision", el(P, "RemoteWipe", textEl(P, "Status", "1"))),
    );
    assert.equal(childText(answered.body, "Status"), "1");
    await assertValid(answered);
    for (let i = 0; i < 50 && !admin.devices(user)[0]!.wipe?.notice; i++) await sleep(20);
    const view = admin.devices(user).find((d) => d.deviceId === deviceId)!;
    assert.equal(view.wipe?.state, "confirmed");
    assert.match(view.wipe!.notice, /^not sent: no notification sender configured/);

    // Reconnects and even a deleted partnership still get the wipe.
    assert.equal(childText((await folderSync(client)).body, "Status"), "140");
    admin.deleteDevice(user, deviceId);
    assert.ok(
      child((await client.command("Provision", initialRequest(POLICY_TYPES.wbxml))).body, "RemoteWipe"),
    );

    // Cancelled: the phone provisions and syncs again.
    admin.cancelWipe(user, deviceId);
    await handshake(client);
    assert.equal(childText((await folderSync(client)).body, "Status"), "1");
    const actions = admin.audit().map((e) => `${e.action}:${e.result}`);
    for (const expected of ["wipe:ok", "wipe-answer:confirmed", "device-delete:ok", "wipe-cancel:ok"]) {
      assert.ok(actions.includes(expected), `audit has ${expected}: ${actions.join(", ")}`);
    }
  });
});

Deno.test("the CLI in another connection wipes a phone holding a Ping; account-only wipe for 16.1", async () => {
  await withBox(async (box, admin) => {
    const phone = box.client(undefined, { protocolVersion: "16.1", policyKey: "0" });
    await handshake(phone);
    const inbox = childText(
      childrenNamed(child((await folderSync(phone)).body, "Changes"), "Add").find((f) =>
        childText(f, "Type") === "2"
      ),
      "ServerId",
    )!;
    const held = phone.command("Ping", pingRequest(300, [inbox]));
    for (let i = 0; i < 200 && box.server.push.hub.stats().held < 1; i++) await sleep(20);
    const lines: string[] = [];
    const code = runAdminCli(
      ["wipe", "--user", phone.options.user, "--device", phone.options.deviceId, "--account-only"],
      { PUSHBRIDGE_DATA: box.dataDir },
      { out: (l) => lines.push(l), err: (l) => lines.push(l) },
    );
    assert.equal(code, 0, lines.join("\n"));
    const started = performance.now();
    const woke = await held;
    assert.ok(performance.now() - started < 4000, "the server's event poll ends the held Ping");
    assert.equal(childText(woke.body, "Status"), "2");
    const order = await phone.command("Provision", initialRequest(POLICY_TYPES.wbxml));
    assert.ok(child(order.body, "AccountOnlyRemoteWipe"));
    assert.equal(child(order.body, "RemoteWipe"), undefined, "never a full wipe in its place");
    await phone.command(
      "Provision",
      el(P, "Provision", el(P, "AccountOnlyRemoteWipe", textEl(P, "Status", "1"))),
    );
    assert.equal(admin.devices(phone.options.user)[0]!.wipe?.state, "confirmed");

    const older = box.client(undefined, { protocolVersion: "14.1" });
    await folderSync(older);
    assert.throws(
      () => admin.wipe(older.options.user, older.options.deviceId, { accountOnly: true }),
      /needs protocol 16\.1/,
    );
  });
});

Deno.test("a quarantined device type gets Status 129 with a recorded notice until a device rule allows it", async () => {
  await withBox(async (box, admin) => {
    admin.setAccess("quarantine", { deviceType: "Android" });
    const phone = box.client(undefined, { protocolVersion: "14.1", deviceType: "Android" });
    const refused = await folderSync(phone);
    assert.equal(childText(refused.body, "Status"), "129");
    await assertValid(refused);
    const view = admin.devices(phone.options.user)[0]!;
    assert.equal(view.access.state, "quarantine");
    assert.match(view.access.notice, /^not sent: no notification sender configured/);
    const old = box.client(undefined, { protocolVersion: "12.1", deviceType: "Android" });
    assert.equal((await folderSync(old)).status, 403);
    admin.setAccess("allow", { user: phone.options.user, deviceId: phone.options.deviceId });
    assert.equal(childText((await folderSync(phone)).body, "Status"), "1");
  });
});
