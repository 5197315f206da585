import assert from "node:assert/strict";
import { DeviceAdmin } from "../../../src/admin/device_admin.ts";
import { childText, el, textEl } from "../../../src/wbxml/mod.ts";
import { startBox } from "../../integration/fixture.ts";

const MAIN = new URL("../../../tools/eas_client/main.ts", import.meta.url).pathname;

/** Runs `deno task eas -- provision ...` the way an admin would (the task runs this file). */
async function runProvision(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN, "provision", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: output.code, stdout: text.decode(output.stdout), stderr: text.decode(output.stderr) };
}

Deno.test({
  name:
    "eas provision runs the two-step handshake, prints the policy and a final key that FolderSync accepts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const box = await startBox();
    const caFile = `${box.dataDir}/client-ca.pem`;
    await Deno.writeTextFile(caFile, box.server.caCertPem!);
    const alice = box.mailstore.users[0]!;
    const common = [
      "--url",
      box.server.easUrl,
      "--user",
      alice.name,
      "--password",
      alice.password,
      "--ca",
      caFile,
    ];
    try {
      const modern = await runProvision([...common, "--version", "14.1", "--device", "provcli141"]);
      assert.equal(modern.code, 0, modern.stderr);
      assert.match(modern.stdout, /<PolicyType>MS-EAS-Provisioning-WBXML<\/PolicyType>/);
      assert.match(modern.stdout, /EASProvisionDoc/);
      const temp = /^Temporary PolicyKey: (\d+)$/m.exec(modern.stdout)?.[1];
      const key = /^PolicyKey: (\d+)$/m.exec(modern.stdout)?.[1];
      assert.ok(temp && key, modern.stdout);
      assert.notEqual(key, temp);

      // The printed key is the one the box now expects from this device.
      const phone = box.client(alice.name, {
        protocolVersion: "14.1",
        deviceId: "provcli141",
        policyKey: key,
      });
      const sync = await phone.command(
        "FolderSync",
        el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
      );
      assert.equal(sync.status, 200);
      assert.equal(childText(sync.body, "Status"), "1");

      // 2.5 phones get the XML policy document.
      const old = await runProvision([...common, "--version", "2.5", "--device", "provcli25"]);
      assert.equal(old.code, 0, old.stderr);
      assert.match(old.stdout, /<PolicyType>MS-WAP-Provisioning-XML<\/PolicyType>/);
      assert.match(old.stdout, /^PolicyKey: \d+$/m);

      // A device with a pending wipe: the CLI says so and does not acknowledge it.
      new DeviceAdmin({ store: box.server.store, actor: "test:admin" }).wipe(alice.name, "provcli141");
      const wiped = await runProvision([...common, "--version", "14.1", "--device", "provcli141"]);
      assert.equal(wiped.code, 3);
      assert.match(wiped.stderr, /asks this device for a remote wipe; not acknowledged/);

      const wrong = await runProvision([
        "--url",
        box.server.easUrl,
        "--user",
        alice.name,
        "--password",
        "nope",
        "--ca",
        caFile,
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /HTTP 401/);
    } finally {
      await box.stop();
    }
  },
});
