import assert from "node:assert/strict";
import { Store } from "../../src/store/mod.ts";

/** The permissions the appliance's program runs with (appliance/build_firmware.sh PERMISSIONS): not --allow-all. */
const APPLIANCE_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
  "--allow-run",
];

Deno.test("copyDatabase() copies a live database under the appliance's permissions (no ATTACH there)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pb-db-copy-" });
  try {
    // Left open with its WAL, as the running service's would be.
    const store = Store.open(`${dir}/pushbridge.sqlite`);
    const inbox = store.folders.serverIdFor("alice", "imap:INBOX");
    const script = `${dir}/copy.ts`;
    const module = new URL("../../src/doctor/maintenance.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { copyDatabase } from ${
        JSON.stringify(module)
      };\nawait copyDatabase(Deno.args[0], Deno.args[1]);\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...APPLIANCE_PERMISSIONS, script, `${dir}/pushbridge.sqlite`, `${dir}/copy.sqlite`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    store.close();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const copy = Store.open(`${dir}/copy.sqlite`);
    try {
      assert.equal(copy.folders.backendKeyOf("alice", inbox), "imap:INBOX");
    } finally {
      copy.close();
    }
    assert.equal(await Deno.stat(`${dir}/copy.sqlite.part`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
