import assert from "node:assert/strict";
import { openPassword, settings } from "../../../src/eas/commands/settings.ts";
import { child, childText, el, textEl } from "../../../src/wbxml/tree.ts";
import { fakeContext, FakeMailbox, fakeRequest } from "./folder_ops_fakes.ts";

const S = "Settings";
const passwordRequest = el(
  S,
  "Settings",
  el(S, "DevicePassword", el(S, "Set", textEl(S, "Password", "1234"))),
);

Deno.test("Settings DevicePassword is refused by policy unless recovery is allowed", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "14.1");
  const refused = await settings(fakeRequest("Settings", passwordRequest), ctx);
  assert.equal(childText(child(refused.body, "DevicePassword"), "Status"), "7");
  assert.equal(ctx.store.deviceInformation.password(ctx.device.id), undefined);
});

Deno.test("Settings DevicePassword is kept sealed when the policy allows recovery", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "14.1");
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  ctx.passwordRecovery = { allowed: (user) => user === "alice", key };
  const reply = await settings(fakeRequest("Settings", passwordRequest), ctx);
  assert.equal(childText(child(reply.body, "DevicePassword"), "Status"), "1");
  const sealed = ctx.store.deviceInformation.password(ctx.device.id)!;
  assert.ok(!sealed.includes("1234"));
  assert.equal(await openPassword(key, sealed), "1234");
});

Deno.test("Settings UserInformation uses the 12.x address list and the 14.1 account layout", async () => {
  const request = el(S, "Settings", el(S, "UserInformation", el(S, "Get")));
  const old = fakeContext(new FakeMailbox(), undefined, "14.0");
  old.identity = () => Promise.resolve({ primary: "alice@example.test", aliases: ["a@example.test"] });
  const get12 = child(
    child(await settings(fakeRequest("Settings", request), old).then((r) => r.body), "UserInformation"),
    "Get",
  );
  assert.deepEqual(child(get12, "EmailAddresses")?.children?.map((c) => c.text), [
    "alice@example.test",
    "a@example.test",
  ]);
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  ctx.identity = old.identity;
  const reply = await settings(fakeRequest("Settings", request), ctx);
  const addresses = child(
    child(child(child(child(reply.body, "UserInformation"), "Get"), "Accounts"), "Account"),
    "EmailAddresses",
  );
  assert.equal(childText(addresses, "PrimarySmtpAddress"), "alice@example.test");
});

Deno.test("Settings answers an unknown part with a protocol error and Oof without a service with Access denied", async () => {
  const ctx = fakeContext(new FakeMailbox(), undefined, "16.1");
  const reply = await settings(
    fakeRequest("Settings", el(S, "Settings", el(S, "Oof", el(S, "Get")), el(S, "Bogus"))),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "2");
  assert.equal(childText(child(reply.body, "Oof"), "Status"), "3");
});
