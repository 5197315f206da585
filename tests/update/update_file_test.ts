import assert from "node:assert/strict";
import {
  importUpdatePublicKey,
  UPDATE_MAGIC,
  UpdateVerificationError,
  verifyUpdateFile,
  writeUpdateFile,
} from "../../src/update/update_file.ts";
import { testKeys } from "./_fixture.ts";

async function signed(payload: Uint8Array, privateKey: CryptoKey) {
  const dir = await Deno.makeTempDir({ prefix: "pb-pbu-" });
  await Deno.writeFile(`${dir}/payload`, payload);
  const manifest = await writeUpdateFile(
    `${dir}/u.pbu`,
    `${dir}/payload`,
    {
      version: "1.2.3",
      arch: "x86_64",
      kind: "bundle",
    },
    privateKey,
    new Date("2026-01-02T03:04:05Z"),
  );
  return { dir, file: `${dir}/u.pbu`, manifest };
}

Deno.test("verifyUpdateFile() accepts a signed file and locates its payload", async () => {
  const keys = await testKeys();
  const payload = new TextEncoder().encode("payload bytes");
  const { dir, file, manifest } = await signed(payload, keys.privateKey);
  try {
    const verified = await verifyUpdateFile(file, keys.publicKey);
    assert.deepEqual(verified.manifest, manifest);
    assert.equal(verified.manifest.payloadBytes, payload.length);
    const bytes = await Deno.readFile(file);
    assert.deepEqual(bytes.subarray(verified.payloadOffset), payload);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, UPDATE_MAGIC.length)), UPDATE_MAGIC);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyUpdateFile() rejects a changed payload byte, a changed header byte and another key", async () => {
  const keys = await testKeys();
  const { dir, file } = await signed(new Uint8Array(1000).fill(7), keys.privateKey);
  try {
    const original = await Deno.readFile(file);
    const payloadFlip = original.slice();
    payloadFlip[original.length - 1]! ^= 1;
    await Deno.writeFile(file, payloadFlip);
    await assert.rejects(verifyUpdateFile(file, keys.publicKey), /does not match its signed SHA-256/);
    const headerFlip = original.slice();
    const versionAt = new TextDecoder().decode(original).indexOf("1.2.3");
    headerFlip[versionAt] = "9".charCodeAt(0);
    await Deno.writeFile(file, headerFlip);
    await assert.rejects(verifyUpdateFile(file, keys.publicKey), /signature does not match/);
    await Deno.writeFile(file, original);
    const other = await testKeys();
    await assert.rejects(verifyUpdateFile(file, other.publicKey), UpdateVerificationError);
    await Deno.writeFile(file, original.subarray(0, original.length - 10));
    await assert.rejects(verifyUpdateFile(file, keys.publicKey), /payload has 990 bytes/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyUpdateFile() rejects files that are not updates or are cut short", async () => {
  const keys = await testKeys();
  const dir = await Deno.makeTempDir({ prefix: "pb-pbu-" });
  try {
    await Deno.writeTextFile(`${dir}/x`, "#!/bin/sh\necho hi\n");
    await assert.rejects(verifyUpdateFile(`${dir}/x`, keys.publicKey), /is not a pushbridge update file/);
    await Deno.writeTextFile(`${dir}/y`, `${UPDATE_MAGIC}\u0000\u0000\u0000\u0010{}`);
    await assert.rejects(verifyUpdateFile(`${dir}/y`, keys.publicKey), /is truncated/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importUpdatePublicKey() names a key of the wrong length", async () => {
  await assert.rejects(importUpdatePublicKey(btoa("short")), /has 5 bytes, not 32/);
  await assert.rejects(importUpdatePublicKey("not base64 !!"), /not base64/);
});
