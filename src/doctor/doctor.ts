/**
 * `pushbridge doctor`: checks what an installer can fix on the box itself
 * (data directory, database, certificate, mailstore reachability, clock,
 * free space) and says, for each problem, what to do about it.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import type { MailstoreUrl, Settings } from "../config/settings.ts";
import { SETTING_ENV } from "../config/settings.ts";
import { Database } from "../store/database.ts";
import { checkExpiry, readCertificateInfo } from "../tls/cert_info.ts";
import { loadCertificatePair, TLS_FILES } from "../tls/load.ts";
import { TLS_LIMITS } from "../tls/self_signed.ts";

/** Outcome of one check; "fail" makes the doctor exit non-zero. */
export type CheckStatus = "ok" | "warn" | "fail";

/** One line of the doctor's report. */
export interface DoctorCheck {
  /** Short name of what was checked ("data directory", "clock", ...). */
  name: string;
  status: CheckStatus;
  /** What was found. */
  detail: string;
  /** What to do, for "warn" and "fail". */
  fix?: string;
}

/** Thresholds of the checks, each with its reason. */
export const DOCTOR_LIMITS = {
  /** Below this the database can no longer grow through a day of syncing 1,000-message folders plus a WAL and a backup. */
  failFreeBytes: 64 * 1024 * 1024,
  /** Below this share of the data partition a warning comes first, before writes start failing. */
  warnFreeRatio: 0.1,
  /** A mailstore that has not greeted within this time is unreachable for a phone too (EAS clients time out near 30 s). */
  connectTimeoutMs: 5_000,
  /**
   * The software cannot have been built before this instant: a clock behind it
   * is certainly wrong (a box without a real-time clock before NTP has synced).
   */
  earliestPlausibleTime: Date.UTC(2025, 0, 1),
} as const;

/** Seams for tests and for the appliance's own probes. */
export interface DoctorOptions {
  now?: () => Date;
  /** Opens a connection to the mailstore and returns its first line (the greeting). */
  greet?: (url: MailstoreUrl, caCerts: string[] | undefined, timeoutMs: number) => Promise<string>;
  /** Whether the NTP client reports the clock synchronized; undefined when that is unknown. */
  clockSynchronized?: () => Promise<boolean | undefined>;
  /** Free and total bytes of the file system holding `path`. */
  freeSpace?: (path: string) => Promise<{ freeBytes: number; totalBytes: number }>;
}

/** Runs every check and returns them in a fixed order. */
export async function runDoctor(settings: Settings, options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const now = (options.now ?? (() => new Date()))();
  const checks: DoctorCheck[] = [];
  const dataOk = await checkDataDir(settings.dataDir, checks);
  if (dataOk) checkDatabase(settings.dataDir, checks);
  await checkCertificate(settings, now, checks);
  await checkMailstore(settings, options.greet ?? greetMailstore, checks);
  await checkClock(now, options.clockSynchronized ?? timesyncSynchronized, checks);
  if (dataOk) await checkFreeSpace(settings.dataDir, options.freeSpace ?? statFreeSpace, checks);
  return checks;
}

/** The report as text, one line per check plus an indented fix line. */
export function formatDoctorReport(checks: readonly DoctorCheck[]): string {
  const mark: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${mark[check.status]}  ${check.name}: ${check.detail}`);
    if (check.fix && check.status !== "ok") lines.push(`      fix: ${check.fix}`);
  }
  const failed = checks.filter((c) => c.status === "fail").length;
  const warned = checks.filter((c) => c.status === "warn").length;
  lines.push(
    failed === 0 && warned === 0
      ? "All checks passed"
      : `${failed} problem${failed === 1 ? "" : "s"}, ${warned} warning${warned === 1 ? "" : "s"}`,
  );
  return lines.join("\n");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function checkDataDir(dir: string, checks: DoctorCheck[]): Promise<boolean> {
  const name = "data directory";
  const fix =
    `create it and make it writable for the service user (mkdir -p '${dir}'; chown pushbridge '${dir}'), or set ${SETTING_ENV.dataDir}`;
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) {
      checks.push({ name, status: "fail", detail: `'${dir}' is not a directory`, fix });
      return false;
    }
  } catch (error) {
    checks.push({ name, status: "fail", detail: `'${dir}' cannot be read: ${message(error)}`, fix });
    return false;
  }
  const probe = `${dir}/.doctor-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(probe, "probe");
    await Deno.remove(probe);
  } catch (error) {
    checks.push({ name, status: "fail", detail: `'${dir}' is not writable: ${message(error)}`, fix });
    return false;
  }
  checks.push({ name, status: "ok", detail: `'${dir}' is writable` });
  return true;
}

function checkDatabase(dir: string, checks: DoctorCheck[]): void {
  const name = "database";
  const path = `${dir}/pushbridge.sqlite`;
  try {
    Deno.statSync(path);
  } catch {
    checks.push({
      name,
      status: "warn",
      detail: `'${path}' does not exist yet`,
      fix: "start the service once (pushbridge serve); it creates the database",
    });
    return;
  }
  let db: Database | undefined;
  try {
    db = Database.open(path);
    const result = db.integrityCheck();
    if (result === "ok") {
      checks.push({ name, status: "ok", detail: `schema version ${db.schemaVersion}, integrity ok` });
    } else {
      checks.push({
        name,
        status: "fail",
        detail: `integrity check reports '${result.slice(0, 200)}'`,
        fix: "restore the latest settings backup from the backups folder of the data directory",
      });
    }
  } catch (error) {
    checks.push({
      name,
      status: "fail",
      detail: `'${path}' cannot be opened: ${message(error)}`,
      fix: "stop the service, move the file aside and restore a backup from the data directory",
    });
  } finally {
    db?.close();
  }
}

async function checkCertificate(settings: Settings, now: Date, checks: DoctorCheck[]): Promise<void> {
  const name = "certificate";
  const tls = settings.tls;
  if (tls.mode === "off") {
    checks.push({ name, status: "ok", detail: "TLS is off (a reverse proxy terminates HTTPS)" });
    return;
  }
  let certPem: string;
  if (tls.mode === "files") {
    try {
      certPem = (await loadCertificatePair(tls.certFile, tls.keyFile)).certPem;
    } catch (error) {
      checks.push({
        name,
        status: "fail",
        detail: message(error),
        fix: `point ${SETTING_ENV.tls} at a readable PEM certificate and its key`,
      });
      return;
    }
  } else {
    const path = `${settings.dataDir}/tls/${TLS_FILES.cert}`;
    try {
      certPem = await Deno.readTextFile(path);
    } catch {
      checks.push({
        name,
        status: "warn",
        detail: `no self-signed certificate at '${path}' yet`,
        fix: "start the service once (pushbridge serve); it generates the certificate",
      });
      return;
    }
  }
  try {
    const info = await readCertificateInfo(certPem);
    const expiry = checkExpiry(info, now, TLS_LIMITS.renewBeforeDays);
    const until = info.notAfter.toISOString().slice(0, 10);
    const names = [...info.dnsNames, ...info.ipAddresses].join(", ");
    if (expiry === "ok") {
      checks.push({ name, status: "ok", detail: `valid until ${until} for ${names}` });
    } else if (expiry === "not-yet-valid") {
      checks.push({
        name,
        status: "fail",
        detail: `not valid before ${info.notBefore.toISOString()}`,
        fix: "the clock is behind: check the clock line below",
      });
    } else {
      checks.push({
        name,
        status: expiry === "expired" ? "fail" : "warn",
        detail: `${expiry === "expired" ? "expired" : "expires"} on ${until}`,
        fix: tls.mode === "files"
          ? "install a renewed certificate and restart the service"
          : "restart the service; it renews the self-signed certificate",
      });
    }
  } catch (error) {
    checks.push({
      name,
      status: "fail",
      detail: `the certificate cannot be read: ${message(error)}`,
      fix: tls.mode === "files"
        ? `point ${SETTING_ENV.tls} at a PEM certificate`
        : `delete '${settings.dataDir}/tls' and restart the service to generate a new one`,
    });
  }
}

async function checkMailstore(
  settings: Settings,
  greet: NonNullable<DoctorOptions["greet"]>,
  checks: DoctorCheck[],
): Promise<void> {
  let caCerts: string[] | undefined;
  if (settings.mailstoreCaFile) {
    try {
      caCerts = [await Deno.readTextFile(settings.mailstoreCaFile)];
    } catch (error) {
      checks.push({
        name: "mailstore CA",
        status: "fail",
        detail: `'${settings.mailstoreCaFile}' cannot be read: ${message(error)}`,
        fix: `point ${SETTING_ENV.mailstoreCaFile} at the PEM CA of the mailstore`,
      });
    }
  }
  const targets: [string, MailstoreUrl | undefined, string, RegExp][] = [
    ["IMAP", settings.imapUrl, SETTING_ENV.imapUrl, /^\* (OK|PREAUTH)/i],
    ["SMTP submission", settings.smtpUrl, SETTING_ENV.smtpUrl, /^220[ -]/],
  ];
  for (const [label, url, setting, expected] of targets) {
    const name = `mailstore ${label}`;
    if (!url) {
      checks.push({
        name,
        status: label === "IMAP" ? "fail" : "warn",
        detail: "not configured",
        fix: `enter the mailstore on the setup page, or set ${setting}`,
      });
      continue;
    }
    try {
      const line = await greet(url, caCerts, DOCTOR_LIMITS.connectTimeoutMs);
      if (expected.test(line)) {
        checks.push({ name, status: "ok", detail: `${url.href} answers '${line.slice(0, 60)}'` });
      } else {
        checks.push({
          name,
          status: "fail",
          detail: `${url.href} answered '${line.slice(0, 60)}', not a ${label} greeting`,
          fix: `check the port in ${setting}`,
        });
      }
    } catch (error) {
      const tlsProblem = /certificate|tls|handshake|unknown ?issuer/i.test(message(error));
      checks.push({
        name,
        status: "fail",
        detail: `${url.href} is not reachable: ${message(error)}`,
        fix: tlsProblem
          ? `give the mailstore's CA certificate in ${SETTING_ENV.mailstoreCaFile}`
          : `check the host and port in ${setting}, the network and the mailstore's firewall`,
      });
    }
  }
}

async function checkClock(
  now: Date,
  synchronized: NonNullable<DoctorOptions["clockSynchronized"]>,
  checks: DoctorCheck[],
): Promise<void> {
  const name = "clock";
  const fix = "let the box reach an NTP server (UDP 123) or set the time with timedatectl set-time";
  if (now.getTime() < DOCTOR_LIMITS.earliestPlausibleTime) {
    checks.push({
      name,
      status: "fail",
      detail: `the clock says ${now.toISOString()}, which is too early`,
      fix,
    });
    return;
  }
  const synced = await synchronized().catch(() => undefined);
  if (synced === false) {
    checks.push({ name, status: "warn", detail: `${now.toISOString()}, not synchronized by NTP yet`, fix });
  } else {
    checks.push({
      name,
      status: "ok",
      detail: `${now.toISOString()}${synced ? ", synchronized by NTP" : ""}`,
    });
  }
}

async function checkFreeSpace(
  dir: string,
  freeSpace: NonNullable<DoctorOptions["freeSpace"]>,
  checks: DoctorCheck[],
): Promise<void> {
  const name = "free space";
  const fix = "delete old backups in the data directory's backups folder, or use a larger card or disk";
  try {
    const { freeBytes, totalBytes } = await freeSpace(dir);
    const detail = `${mib(freeBytes)} free of ${mib(totalBytes)}`;
    if (freeBytes < DOCTOR_LIMITS.failFreeBytes) {
      checks.push({ name, status: "fail", detail, fix });
    } else if (totalBytes > 0 && freeBytes / totalBytes < DOCTOR_LIMITS.warnFreeRatio) {
      checks.push({ name, status: "warn", detail, fix });
    } else {
      checks.push({ name, status: "ok", detail });
    }
  } catch (error) {
    checks.push({ name, status: "warn", detail: `cannot be measured: ${message(error)}` });
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(0)} MiB`;
}

/** Connects (TLS for imaps/smtps) and reads the server's first line. */
export async function greetMailstore(
  url: MailstoreUrl,
  caCerts: string[] | undefined,
  timeoutMs: number,
): Promise<string> {
  let conn: Deno.Conn | undefined;
  let finished = false;
  const close = () => {
    finished = true;
    try {
      conn?.close();
    } catch { /* closed already */ }
    conn = undefined;
  };
  let id: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
  });
  const work = (async () => {
    const opened = url.implicitTls
      ? await Deno.connectTls({ hostname: url.hostname, port: url.port, ...(caCerts ? { caCerts } : {}) })
      : await Deno.connect({ hostname: url.hostname, port: url.port });
    conn = opened;
    // The timer won while the connection was opening: close it at once.
    if (finished) close();
    const buffer = new Uint8Array(512);
    let text = "";
    while (!text.includes("\n")) {
      const n = await opened.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text.split(/\r?\n/)[0] ?? "";
  })();
  // A late failure after the timer won must not surface as an unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, timer]);
  } finally {
    clearTimeout(id);
    close();
  }
}

/** systemd-timesyncd touches this file once the clock is synchronized (systemd-timesyncd.service(8)). */
async function timesyncSynchronized(): Promise<boolean | undefined> {
  try {
    await Deno.stat("/run/systemd/timesync/synchronized");
    return true;
  } catch {
    try {
      await Deno.stat("/run/systemd/timesync");
      return false;
    } catch {
      return undefined; // no timesyncd: not an appliance, nothing to say
    }
  }
}

async function statFreeSpace(path: string): Promise<{ freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  return { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
}
