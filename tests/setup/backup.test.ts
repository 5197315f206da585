import assert from "node:assert/strict";
import { createBackup, diffSettings, parseBackup } from "../../src/setup/backup.ts";

Deno.test("createBackup() and parseBackup() round-trip settings, leaving out local-only ones", () => {
  const backup = createBackup(
    { imapUrl: "imaps://mail.example.com", "setup.completed": "1", publicHostName: "box.example.com" },
    "0.1.0",
    new Date(0),
  );
  assert.deepEqual(backup.settings, {
    imapUrl: "imaps://mail.example.com",
    publicHostName: "box.example.com",
  });
  assert.deepEqual(parseBackup(JSON.stringify(backup)).settings, backup.settings);
});

Deno.test("parseBackup() refuses files that are not backups or hold bad values", () => {
  assert.throws(() => parseBackup("nope"), /Backup is not JSON/);
  assert.throws(() => parseBackup('{"a":1}'), /not a Pushbridge settings backup/);
  const base = { format: "pushbridge-settings", version: 1, createdAt: "", softwareVersion: "" };
  assert.throws(() => parseBackup(JSON.stringify({ ...base, version: 9, settings: {} })), /version '9'/);
  assert.throws(
    () => parseBackup(JSON.stringify({ ...base, settings: { imapUrl: 5 } })),
    /'imapUrl' is not a string/,
  );
  assert.throws(
    () => parseBackup(JSON.stringify({ ...base, settings: { imapUrl: "ftp://x" } })),
    /PUSHBRIDGE_IMAP_URL: scheme 'ftp'/,
  );
});

Deno.test("diffSettings() lists added, changed and removed settings", () => {
  assert.deepEqual(diffSettings({ a: "1", b: "2", "setup.completed": "1" }, { b: "3", c: "4" }), [
    { key: "a", change: "removed", before: "1" },
    { key: "b", change: "changed", before: "2", after: "3" },
    { key: "c", change: "added", after: "4" },
  ]);
});
