import assert from "node:assert/strict";
import { effectivePolicy } from "../../../src/admin/policy_resolver.ts";
import { CompositeBackend } from "../../../src/backend/composite.ts";
import type { CommandContext, EasRequest } from "../../../src/eas/commands/context.ts";
import { provision, type ProvisioningHooks } from "../../../src/eas/commands/provision.ts";
import { EasHttpError } from "../../../src/eas/protocol/errors.ts";
import { parseEasQuery } from "../../../src/eas/protocol/query.ts";
import { Store } from "../../../src/store/mod.ts";
import { child, childText, el, textEl, type WbxmlElement } from "../../../src/wbxml/mod.ts";

const P = "Provision";
const TYPE = "MS-EAS-Provisioning-WBXML";

function setup(version = "14.1") {
  const store = Store.open(":memory:");
  const answered: string[] = [];
  const hooks: ProvisioningHooks = {
    policyFor: (user, deviceId) => effectivePolicy(store, user, deviceId),
    wipeAnswered: (user, deviceId, kind, ok) => answered.push(`${user}/${deviceId} ${kind} ${ok}`),
    now: () => 1_000,
  };
  const device = store.devices.sighted({
    user: "alice",
    deviceId: "D1",
    deviceType: "iPhone",
    userAgent: "t",
    protocolVersion: version,
  });
  const ctx: CommandContext = {
    user: "alice",
    credentials: { user: "alice", password: "pw" },
    device,
    protocolVersion: version,
    store,
    backend: new CompositeBackend([]),
    signal: new AbortController().signal,
    provisioning: hooks,
  };
  const send = async (body: WbxmlElement) => {
    const request: EasRequest = {
      body,
      raw: new Uint8Array(0),
      contentType: "application/vnd.ms-sync.wbxml",
      query: parseEasQuery("?Cmd=Provision&User=alice&DeviceId=D1&DeviceType=iPhone"),
      headers: new Headers(),
    };
    return (await provision(request, ctx)).body!;
  };
  return { store, ctx, send, answered };
}

const initial = (type = TYPE) =>
  el(P, "Provision", el(P, "Policies", el(P, "Policy", textEl(P, "PolicyType", type))));
const ack = (key: string, status = "1") =>
  el(
    P,
    "Provision",
    el(
      P,
      "Policies",
      el(
        P,
        "Policy",
        textEl(P, "PolicyType", TYPE),
        textEl(P, "PolicyKey", key),
        textEl(P, "Status", status),
      ),
    ),
  );
const policyOf = (body: WbxmlElement) => child(child(body, "Policies"), "Policy");

Deno.test("Provision answers a wrong acknowledgement key with Policy Status 5 and an unknown type with 3", async () => {
  const { send, store } = setup();
  const first = policyOf(await send(initial()));
  assert.match(childText(first, "PolicyKey")!, /^\d+$/);
  assert.equal(childText(policyOf(await send(ack("999"))), "Status"), "5");
  assert.equal(childText(policyOf(await send(initial("Bogus-Type"))), "Status"), "3");
  assert.equal(childText(await send(el(P, "Provision")), "Status"), "2");
  assert.equal(childText(await send(el("Settings", "Settings")), "Status"), "2");
  assert.equal(store.deviceManagement.provisioning(1)!.policyKey, "", "no final key was issued");
  store.close();
});

Deno.test("a partial acknowledgement is accepted only when AllowNonProvisionableDevices is 1", async () => {
  const { send, store } = setup();
  const temp = childText(policyOf(await send(initial())), "PolicyKey")!;
  store.policies.set("box", { AllowNonProvisionableDevices: "0" });
  assert.equal(childText(await send(ack(temp, "2")), "Status"), "139");
  store.policies.set("box", { AllowNonProvisionableDevices: "1" });
  const final = childText(policyOf(await send(ack(temp, "2"))), "PolicyKey")!;
  const record = store.deviceManagement.provisioning(1)!;
  assert.equal(record.policyKey, final);
  assert.equal(record.state, "partial");
  store.close();
});

Deno.test("an account-only wipe is never sent to a client below 16.1: the device is blocked instead", async () => {
  const { send, store, answered } = setup("14.1");
  store.deviceManagement.requestWipe("alice", "D1", "account", "t");
  assert.equal(childText(await send(initial()), "Status"), "129");
  assert.equal(store.deviceManagement.wipe("alice", "D1")!.state, "not-supported");
  store.close();

  const old = setup("12.1");
  old.store.deviceManagement.requestWipe("alice", "D1", "account", "t");
  await assert.rejects(() => old.send(initial()), (e) => e instanceof EasHttpError && e.httpStatus === 403);
  old.store.close();

  const full = setup("12.1");
  full.store.deviceManagement.requestWipe("alice", "D1", "full", "t");
  assert.ok(child(await full.send(initial()), "RemoteWipe"));
  await full.send(el(P, "Provision", el(P, "RemoteWipe", textEl(P, "Status", "2"))));
  assert.equal(full.store.deviceManagement.wipe("alice", "D1")!.state, "failed");
  assert.deepEqual(full.answered, ["alice/D1 full false"]);
  assert.deepEqual(answered, []);
  full.store.close();
});
