import assert from "node:assert/strict";
import { passwordRecovery } from "../../src/admin/password_recovery.ts";
import { openPassword, sealPassword } from "../../src/eas/commands/settings.ts";
import { Store } from "../../src/store/mod.ts";

Deno.test("passwordRecovery() allows a recovery password only where the policy enables it, sealed under a kept key", async () => {
  const dir = await Deno.makeTempDir();
  const store = Store.open(":memory:");
  try {
    const recovery = await passwordRecovery(store, dir);
    assert.equal(recovery.allowed("alice", "DEV1"), false, "the default policy does not allow it");
    store.policies.set("user:alice", { PasswordRecoveryEnabled: "1" });
    assert.equal(recovery.allowed("alice", "DEV1"), true);
    assert.equal(recovery.allowed("bob", "DEV2"), false);
    const sealed = await sealPassword(recovery.key, "1234");
    assert.ok(!sealed.includes("1234"));
    const again = await passwordRecovery(store, dir);
    assert.equal(await openPassword(again.key, sealed), "1234", "the key survives a restart");
    assert.equal((await Deno.stat(`${dir}/recovery.key`)).mode! & 0o777, 0o600);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
