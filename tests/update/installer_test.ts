import assert from "node:assert/strict";
import { Database } from "../../src/store/database.ts";
import { UpdateInstaller, UpdateInstallError } from "../../src/update/installer.ts";
import { probeHealthz } from "../../src/update/cli.ts";
import { UpdateVerificationError } from "../../src/update/update_file.ts";
import { FakeService, freePort, makeUpdate, testKeys } from "./_fixture.ts";

async function setup() {
  const work = await Deno.makeTempDir({ prefix: "pb-update-" });
  const releases = `${work}/releases`;
  const data = `${work}/data`;
  await Deno.mkdir(data, { recursive: true });
  const keys = await testKeys();
  const port = freePort();
  const service = new FakeService(releases, data, port);
  const lines: string[] = [];
  const installer = new UpdateInstaller({
    releasesDir: releases,
    dataDir: data,
    publicKey: keys.publicKey,
    stopService: service.stop,
    startService: service.start,
    probeHealth: (version) => probeHealthz(`http://127.0.0.1:${port}/healthz`, version),
    healthTimeoutMs: 3_000,
    healthPollMs: 150,
    log: (line) => lines.push(line),
  });
  const cleanup = async () => {
    await service.stop();
    await Deno.remove(work, { recursive: true });
  };
  return { work, releases, data, keys, service, installer, lines, cleanup };
}

Deno.test("install() swaps to a healthy release and keeps the one before as previous", async () => {
  const t = await setup();
  try {
    const v1 = await makeUpdate(t.work, "1.0.0", "healthy", t.keys.privateKey);
    const v2 = await makeUpdate(t.work, "1.1.0", "healthy", t.keys.privateKey);
    const first = await t.installer.install(v1);
    assert.equal(first.status, "installed");
    const second = await t.installer.install(v2);
    assert.deepEqual(second, { status: "installed", version: "1.1.0", release: second.release });
    assert.equal(await Deno.readLink(`${t.releases}/current`), second.release);
    assert.equal(await Deno.readLink(`${t.releases}/previous`), first.release);
    assert.equal(await probeHealthz(`http://127.0.0.1:${t.service.port}/healthz`, "1.1.0"), true);
    await assert.rejects(Deno.stat(`${t.releases}/pending.json`));
  } finally {
    await t.cleanup();
  }
});

Deno.test("install() rolls a broken release back, restores the migrated database and restarts the old one", async () => {
  const t = await setup();
  try {
    const db = Database.open(`${t.data}/pushbridge.sqlite`);
    const schema = db.schemaVersion;
    db.close();
    const good = await t.installer.install(await makeUpdate(t.work, "1.0.0", "healthy", t.keys.privateKey));
    const broken = await makeUpdate(t.work, "2.0.0", "crashes-after-migrating", t.keys.privateKey);
    const outcome = await t.installer.install(broken);
    assert.equal(outcome.status, "rolled-back");
    assert.equal(outcome.status === "rolled-back" && outcome.restored, "1.0.0");
    assert.equal(await Deno.readLink(`${t.releases}/current`), good.release);
    assert.equal(await probeHealthz(`http://127.0.0.1:${t.service.port}/healthz`, "1.0.0"), true);
    const after = Database.open(`${t.data}/pushbridge.sqlite`);
    assert.equal(after.schemaVersion, schema);
    after.close();
    await assert.rejects(Deno.stat(`${t.releases}/${outcome.release}`));
    const backups = [...Deno.readDirSync(`${t.data}/backups`)].map((e) => e.name);
    assert.ok(backups.some((n) => n.startsWith("pre-update-") && n.endsWith("-1.0.0-to-2.0.0.sqlite")));
    assert.ok(t.lines.some((l) => l.startsWith("Restoring the database")));
  } finally {
    await t.cleanup();
  }
});

Deno.test("install() rejects an update signed with another key and leaves the box untouched", async () => {
  const t = await setup();
  try {
    const installed = await t.installer.install(
      await makeUpdate(t.work, "1.0.0", "healthy", t.keys.privateKey),
    );
    const other = await testKeys();
    const forged = await makeUpdate(t.work, "6.6.6", "healthy", other.privateKey);
    await assert.rejects(t.installer.install(forged), UpdateVerificationError);
    assert.equal(await Deno.readLink(`${t.releases}/current`), installed.release);
    assert.equal(t.service.starts, 1);
  } finally {
    await t.cleanup();
  }
});

Deno.test("install() rejects another architecture and a payload whose version differs from its header", async () => {
  const t = await setup();
  try {
    const foreign = await makeUpdate(t.work, "1.0.0", "healthy", t.keys.privateKey, { arch: "mips" });
    await assert.rejects(t.installer.install(foreign), /Update is for 'mips'/);
    const mislabelled = await makeUpdate(t.work, "1.0.1", "healthy", t.keys.privateKey, {
      reportedVersion: "0.9",
    });
    await assert.rejects(t.installer.install(mislabelled), UpdateInstallError);
    await assert.rejects(Deno.lstat(`${t.releases}/current`));
    assert.equal(t.service.starts, 0);
  } finally {
    await t.cleanup();
  }
});

Deno.test("resume() finishes an interrupted update by rolling back when the new release never answers", async () => {
  const t = await setup();
  try {
    const good = await t.installer.install(await makeUpdate(t.work, "1.0.0", "healthy", t.keys.privateKey));
    // Simulate a power cut right after the swap: pending.json and the new `current` exist, nothing else ran.
    const broken = await makeUpdate(t.work, "2.0.0", "exits", t.keys.privateKey);
    const interrupted = new UpdateInstaller({
      releasesDir: t.releases,
      dataDir: t.data,
      publicKey: t.keys.publicKey,
      stopService: () => Promise.resolve(),
      startService: () => Promise.reject(new Error("power cut")),
      probeHealth: () => Promise.resolve(false),
    });
    await assert.rejects(interrupted.install(broken), /power cut/);
    await Deno.stat(`${t.releases}/pending.json`);
    await t.installer.install(broken).then(
      () => assert.fail("an update must not start while another is pending"),
      (error) => assert.ok(error instanceof UpdateInstallError),
    );
    const outcome = await t.installer.resume();
    assert.equal(outcome?.status, "rolled-back");
    assert.equal(await Deno.readLink(`${t.releases}/current`), good.release);
    assert.equal(await t.installer.resume(), undefined);
  } finally {
    await t.cleanup();
  }
});
