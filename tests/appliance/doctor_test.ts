import assert from "node:assert/strict";
import { resolveSettings } from "../../src/config/settings.ts";
import { type DoctorCheck, formatDoctorReport, greetMailstore, runDoctor } from "../../src/doctor/doctor.ts";
import { runMaintenance } from "../../src/doctor/maintenance.ts";
import { Database } from "../../src/store/database.ts";
import { ensureCertificate } from "../../src/tls/load.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const healthyProbes = {
  now: () => NOW,
  greet: (url: { port: number }) => Promise.resolve(url.port === 993 ? "* OK IMAP ready" : "220 mail ESMTP"),
  clockSynchronized: () => Promise.resolve(true),
  freeSpace: () => Promise.resolve({ freeBytes: 2e9, totalBytes: 4e9 }),
};

function byName(checks: DoctorCheck[], name: string): DoctorCheck {
  const check = checks.find((c) => c.name === name);
  assert.ok(check, `no check '${name}'`);
  return check;
}

async function box(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pb-doctor-" });
  Database.open(`${dir}/pushbridge.sqlite`).close();
  await ensureCertificate(dir, { dnsNames: ["pushbridge.local"], ipAddresses: ["192.168.1.5"] }, NOW);
  return dir;
}

Deno.test("runDoctor() passes every check on a configured box", async () => {
  const dir = await box();
  try {
    const settings = resolveSettings({
      PUSHBRIDGE_DATA: dir,
      PUSHBRIDGE_IMAP_URL: "imaps://mail.example.com",
      PUSHBRIDGE_SMTP_URL: "smtp://mail.example.com:587",
    });
    const checks = await runDoctor(settings, healthyProbes);
    assert.deepEqual(checks.map((c) => [c.name, c.status]), [
      ["data directory", "ok"],
      ["database", "ok"],
      ["certificate", "ok"],
      ["mailstore IMAP", "ok"],
      ["mailstore SMTP submission", "ok"],
      ["clock", "ok"],
      ["free space", "ok"],
    ]);
    assert.match(byName(checks, "certificate").detail, /pushbridge\.local, 192\.168\.1\.5/);
    assert.match(formatDoctorReport(checks), /All checks passed$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDoctor() says what to fix for a missing data dir, a dead mailstore, a wrong clock and a full disk", async () => {
  const dir = await box();
  try {
    const missing = resolveSettings({
      PUSHBRIDGE_DATA: `${dir}/nope`,
      PUSHBRIDGE_IMAP_URL: "imap://10.9.9.9",
    });
    const checks = await runDoctor(missing, {
      ...healthyProbes,
      now: () => new Date("2001-01-01T00:00:00Z"),
      greet: () => Promise.reject(new Error("Connection refused (os error 111)")),
    });
    const data = byName(checks, "data directory");
    assert.equal(data.status, "fail");
    assert.match(data.fix ?? "", /PUSHBRIDGE_DATA/);
    assert.equal(checks.some((c) => c.name === "database" || c.name === "free space"), false);
    const imap = byName(checks, "mailstore IMAP");
    assert.equal(imap.status, "fail");
    assert.match(imap.detail, /imap:\/\/10\.9\.9\.9 is not reachable: Connection refused/);
    assert.match(imap.fix ?? "", /PUSHBRIDGE_IMAP_URL/);
    assert.equal(byName(checks, "mailstore SMTP submission").status, "warn");
    assert.equal(byName(checks, "clock").status, "fail");

    const full = await runDoctor(resolveSettings({ PUSHBRIDGE_DATA: dir }), {
      ...healthyProbes,
      freeSpace: () => Promise.resolve({ freeBytes: 10 * 1024 * 1024, totalBytes: 4e9 }),
      clockSynchronized: () => Promise.resolve(false),
    });
    assert.equal(byName(full, "free space").status, "fail");
    assert.match(byName(full, "free space").detail, /^10 MiB free of/);
    assert.equal(byName(full, "clock").status, "warn");
    assert.match(formatDoctorReport(full), / {6}fix: delete old backups/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runDoctor() fails an expired certificate and a corrupt database", async () => {
  const dir = await box();
  try {
    const later = new Date("2031-01-01T00:00:00Z");
    await Deno.writeFile(
      `${dir}/pushbridge.sqlite`,
      new TextEncoder().encode("this is not SQLite at all".repeat(200)),
    );
    await Deno.remove(`${dir}/pushbridge.sqlite-wal`).catch(() => {});
    await Deno.remove(`${dir}/pushbridge.sqlite-shm`).catch(() => {});
    const checks = await runDoctor(resolveSettings({ PUSHBRIDGE_DATA: dir }), {
      ...healthyProbes,
      now: () => later,
    });
    const cert = byName(checks, "certificate");
    assert.equal(cert.status, "fail");
    assert.match(cert.detail, /^expired on /);
    assert.match(cert.fix ?? "", /restart the service; it renews/);
    assert.equal(byName(checks, "database").status, "fail");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("greetMailstore() reads the greeting line and gives up on a silent server", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    let n = 0;
    for await (const conn of listener) {
      if (n++ === 0) {
        await conn.write(new TextEncoder().encode("* OK [CAPABILITY IMAP4rev1] ready\r\n"));
        conn.close();
      } else {
        held.push(conn); // never greets
      }
    }
  })();
  try {
    const url = { implicitTls: false, hostname: "127.0.0.1", port, href: `imap://127.0.0.1:${port}` };
    assert.equal(await greetMailstore(url, undefined, 2_000), "* OK [CAPABILITY IMAP4rev1] ready");
    await assert.rejects(greetMailstore(url, undefined, 200), /no greeting within 200 ms/);
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("runMaintenance() backs up a sound database and keeps the newest seven daily copies", async () => {
  const dir = await box();
  try {
    for (let day = 1; day <= 9; day++) {
      const result = await runMaintenance(dir, new Date(Date.UTC(2026, 4, day)));
      assert.equal(result.integrity, "ok");
      assert.ok(result.backup?.endsWith(`daily-2026-05-0${day}.sqlite`));
    }
    const names = [...Deno.readDirSync(`${dir}/backups`)].map((e) => e.name).sort();
    assert.deepEqual(names, [3, 4, 5, 6, 7, 8, 9].map((d) => `daily-2026-05-0${d}.sqlite`));
    const copy = Database.open(`${dir}/backups/daily-2026-05-09.sqlite`);
    assert.equal(copy.integrityCheck(), "ok");
    copy.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
