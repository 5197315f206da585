/**
 * Installs a verified update as an atomic release swap with automatic
 * rollback.
 *
 * Layout under the releases directory (on the data partition, root-owned):
 * one directory per release, `current` and `previous` symlinks (the service
 * starts `current/bin/pushbridge serve`), and `pending.json` while an update
 * waits to prove itself healthy. A symlink is replaced by renaming a new one
 * over it, which POSIX makes atomic: after a power cut the box runs either the
 * old or the new release, never a mix. `pending.json` lets the boot-time guard
 * finish the health wait and roll back after a crash mid-update.
 *
 * @module
 */
import { copyDatabase } from "../doctor/maintenance.ts";
import { Database } from "../store/database.ts";
import { UpdateVerificationError, type VerifiedUpdate, verifyUpdateFile } from "./update_file.ts";

/** Timing and retention of updates, each with its reason. */
export const UPDATE_TIMING = {
  /** A healthy box answers /healthz within seconds; minutes allow a slow SD card and a migration. */
  healthTimeoutMs: 3 * 60 * 1000,
  /** Probe interval while waiting for health. */
  healthPollMs: 2_000,
  /** Pre-update database backups kept on the data partition (each is one copy of a small database). */
  keepBackups: 3,
} as const;

/** Names inside the releases directory. */
export const RELEASE_FILES = {
  current: "current",
  previous: "previous",
  pending: "pending.json",
} as const;

/** What the installer needs from the box; tests inject their own. */
export interface InstallerOptions {
  releasesDir: string;
  /** The service's data directory (its database is backed up before the swap). */
  dataDir: string;
  publicKey: CryptoKey;
  /** Architecture this box runs (Deno.build.arch). */
  arch?: string;
  stopService: () => Promise<void>;
  startService: () => Promise<void>;
  /** One probe: true when the running service reports `version` and is healthy. */
  probeHealth: (version: string) => Promise<boolean>;
  healthTimeoutMs?: number;
  healthPollMs?: number;
  log?: (line: string) => void;
}

/** The result of an install. */
export type UpdateOutcome =
  | { status: "installed"; version: string; release: string }
  | { status: "rolled-back"; version: string; release: string; restored: string | undefined; reason: string };

/** The record kept while an installed release has not proven healthy yet. */
interface PendingUpdate {
  version: string;
  release: string;
  /** Symlink target of `current` before the update; undefined on a first install. */
  previousTarget: string | undefined;
  previousVersion: string | undefined;
  backup: { path: string; schemaVersion: number } | undefined;
  deadline: number;
}

/** Something outside the update file keeps the install from going ahead. */
export class UpdateInstallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UpdateInstallError";
  }
}

/** Installs releases into `releasesDir` and watches them become healthy. */
export class UpdateInstaller {
  readonly #o: Required<Omit<InstallerOptions, "log">> & { log: (line: string) => void };

  constructor(options: InstallerOptions) {
    this.#o = {
      arch: Deno.build.arch,
      healthTimeoutMs: UPDATE_TIMING.healthTimeoutMs,
      healthPollMs: UPDATE_TIMING.healthPollMs,
      log: () => {},
      ...options,
    };
  }

  #path(name: string): string {
    return `${this.#o.releasesDir}/${name}`;
  }

  /** Symlink target of `current`, or undefined before the first install. */
  async currentTarget(): Promise<string | undefined> {
    return await readLink(this.#path(RELEASE_FILES.current));
  }

  /**
   * Verifies `file`, unpacks it as a new release, backs up the database,
   * swaps `current` to it, restarts the service and waits for health; rolls
   * back (release and, when the schema moved, the database) when the new
   * version is not healthy before the deadline.
   */
  async install(file: string): Promise<UpdateOutcome> {
    if (await readPending(this.#path(RELEASE_FILES.pending))) {
      throw new UpdateInstallError(
        "Another update is still waiting to become healthy; run pushbridge update --resume first",
      );
    }
    const verified = await verifyUpdateFile(file, this.#o.publicKey);
    const { manifest } = verified;
    if (manifest.arch !== this.#o.arch) {
      throw new UpdateVerificationError(`Update is for '${manifest.arch}', this box is '${this.#o.arch}'`);
    }
    await Deno.mkdir(this.#o.releasesDir, { recursive: true });
    const release = `${manifest.version}-${manifest.payloadSha256.slice(0, 12)}`;
    const previousTarget = await this.currentTarget();
    if (previousTarget === release) {
      throw new UpdateInstallError(`Release '${release}' is already the running one`);
    }
    await this.#unpack(file, verified, release);
    const previousVersion = previousTarget ? await releaseVersion(this.#resolve(previousTarget)) : undefined;
    const backup = await this.#backupDatabase(previousVersion ?? "none", manifest.version);
    const pending: PendingUpdate = {
      version: manifest.version,
      release,
      previousTarget,
      previousVersion,
      backup,
      deadline: Date.now() + this.#o.healthTimeoutMs,
    };
    await writeJsonAtomically(this.#path(RELEASE_FILES.pending), pending);
    if (previousTarget) await swapLink(this.#path(RELEASE_FILES.previous), previousTarget);
    await swapLink(this.#path(RELEASE_FILES.current), release);
    this.#o.log(`Installed release '${release}', restarting the service`);
    await this.#o.stopService();
    await this.#o.startService();
    return await this.#settle(pending);
  }

  /**
   * Finishes an update interrupted by a reboot or a crash of the installer:
   * waits for health until the recorded deadline (at least one poll), then
   * commits or rolls back. Returns undefined when nothing was pending.
   */
  async resume(): Promise<UpdateOutcome | undefined> {
    const pending = await readPending(this.#path(RELEASE_FILES.pending));
    if (!pending) return undefined;
    // The clock may have jumped at boot (no RTC before NTP): allow a full window from now at most.
    pending.deadline = Math.min(Math.max(pending.deadline, Date.now()), Date.now() + this.#o.healthTimeoutMs);
    return await this.#settle(pending);
  }

  async #settle(pending: PendingUpdate): Promise<UpdateOutcome> {
    if (await this.#waitHealthy(pending.version, pending.deadline)) {
      await Deno.remove(this.#path(RELEASE_FILES.pending));
      await this.#prune();
      this.#o.log(`Version ${pending.version} is healthy`);
      return { status: "installed", version: pending.version, release: pending.release };
    }
    const reason = `version ${pending.version} did not become healthy within ${
      Math.round(this.#o.healthTimeoutMs / 1000)
    } s`;
    this.#o.log(`Rolling back: ${reason}`);
    await this.#o.stopService();
    let restored: string | undefined;
    if (pending.previousTarget) {
      await swapLink(this.#path(RELEASE_FILES.current), pending.previousTarget);
      restored = pending.previousVersion;
    } else {
      await Deno.remove(this.#path(RELEASE_FILES.current)).catch(() => {});
    }
    await this.#restoreDatabase(pending.backup);
    await Deno.remove(this.#path(RELEASE_FILES.pending));
    await this.#o.startService();
    if (pending.previousVersion) {
      const back = await this.#waitHealthy(pending.previousVersion, Date.now() + this.#o.healthTimeoutMs);
      this.#o.log(
        back
          ? `Version ${pending.previousVersion} is running again`
          : `Version ${pending.previousVersion} did not answer after the rollback either`,
      );
    }
    await Deno.remove(this.#path(pending.release), { recursive: true }).catch(() => {});
    return { status: "rolled-back", version: pending.version, release: pending.release, restored, reason };
  }

  async #waitHealthy(version: string, deadline: number): Promise<boolean> {
    while (true) {
      if (await this.#o.probeHealth(version).catch(() => false)) return true;
      if (Date.now() + this.#o.healthPollMs > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, this.#o.healthPollMs));
    }
  }

  #resolve(target: string): string {
    return target.startsWith("/") ? target : this.#path(target);
  }

  /** Unpacks the payload into `<release>.tmp`, checks it starts, then renames it into place. */
  async #unpack(file: string, verified: VerifiedUpdate, release: string): Promise<void> {
    const target = this.#path(release);
    const temporary = `${target}.tmp`;
    await Deno.remove(temporary, { recursive: true }).catch(() => {});
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await Deno.mkdir(temporary, { recursive: true });
    // GNU tar strips leading "/" and skips members with "..", so a payload cannot write outside.
    const tar = new Deno.Command("tar", {
      args: ["-xzf", "-", "-C", temporary, "--no-same-owner"],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    {
      using source = await Deno.open(file, { read: true });
      await source.seek(verified.payloadOffset, Deno.SeekMode.Start);
      await source.readable.pipeTo(tar.stdin);
    }
    const result = await tar.output();
    if (!result.success) {
      await Deno.remove(temporary, { recursive: true }).catch(() => {});
      throw new UpdateInstallError(
        `Update payload cannot be unpacked: ${new TextDecoder().decode(result.stderr)}`,
      );
    }
    const entry = `${temporary}/bin/pushbridge`;
    const info = await Deno.lstat(entry).catch(() => undefined);
    if (!info?.isFile || ((info.mode ?? 0) & 0o111) === 0) {
      await Deno.remove(temporary, { recursive: true }).catch(() => {});
      throw new UpdateInstallError("Update payload has no executable 'bin/pushbridge'");
    }
    const reported = await releaseVersion(temporary);
    if (reported !== verified.manifest.version) {
      await Deno.remove(temporary, { recursive: true }).catch(() => {});
      throw new UpdateInstallError(
        `Update payload reports version '${
          reported ?? "none"
        }', its header says '${verified.manifest.version}'`,
      );
    }
    await Deno.rename(temporary, target);
  }

  /** Forward-only migrations: the database is copied (online backup) before the new version can migrate it. */
  async #backupDatabase(from: string, to: string): Promise<PendingUpdate["backup"]> {
    const path = `${this.#o.dataDir}/pushbridge.sqlite`;
    if (!(await Deno.stat(path).catch(() => undefined))) return undefined;
    const dir = `${this.#o.dataDir}/backups`;
    await Deno.mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const backup = `${dir}/pre-update-${stamp}-${from}-to-${to}.sqlite`;
    const db = Database.open(path);
    let schemaVersion: number;
    try {
      schemaVersion = db.schemaVersion;
    } finally {
      db.close();
    }
    await copyDatabase(path, backup);
    const old = [];
    for await (const e of Deno.readDir(dir)) if (e.name.startsWith("pre-update-")) old.push(e.name);
    old.sort();
    for (const name of old.slice(0, Math.max(0, old.length - UPDATE_TIMING.keepBackups))) {
      await Deno.remove(`${dir}/${name}`).catch(() => {});
    }
    return { path: backup, schemaVersion };
  }

  /**
   * Puts the pre-update database back when the failed version migrated it:
   * the old version cannot read a newer schema, and migrations only go forward.
   */
  async #restoreDatabase(backup: PendingUpdate["backup"]): Promise<void> {
    if (!backup) return;
    const path = `${this.#o.dataDir}/pushbridge.sqlite`;
    let now = backup.schemaVersion;
    try {
      const db = Database.open(path);
      now = db.schemaVersion;
      db.close();
    } catch {
      now = Number.POSITIVE_INFINITY; // unreadable after the failed version: restore
    }
    if (now <= backup.schemaVersion) return;
    this.#o.log(`Restoring the database from '${backup.path}' (schema ${now} -> ${backup.schemaVersion})`);
    await Deno.copyFile(backup.path, `${path}.restore`);
    for (const suffix of ["-wal", "-shm"]) await Deno.remove(`${path}${suffix}`).catch(() => {});
    await Deno.rename(`${path}.restore`, path);
  }

  /** Keeps the releases `current` and `previous` point at; removes the rest. */
  async #prune(): Promise<void> {
    const keep = new Set(
      [await readLink(this.#path(RELEASE_FILES.current)), await readLink(this.#path(RELEASE_FILES.previous))]
        .filter((t): t is string => t !== undefined && !t.startsWith("/")),
    );
    for await (const entry of Deno.readDir(this.#o.releasesDir)) {
      if (!entry.isDirectory || keep.has(entry.name)) continue;
      await Deno.remove(this.#path(entry.name), { recursive: true }).catch(() => {});
    }
  }
}

async function readLink(path: string): Promise<string | undefined> {
  try {
    return await Deno.readLink(path);
  } catch {
    return undefined;
  }
}

/** Points `link` at `target` atomically (a new symlink renamed over the old one). */
export async function swapLink(link: string, target: string): Promise<void> {
  const temporary = `${link}.new`;
  await Deno.remove(temporary).catch(() => {});
  await Deno.symlink(target, temporary);
  await Deno.rename(temporary, link);
}

async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(value, null, 2));
  await Deno.rename(`${path}.tmp`, path);
}

async function readPending(path: string): Promise<PendingUpdate | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as PendingUpdate;
  } catch {
    return undefined;
  }
}

/** Runs `<dir>/bin/pushbridge --version` and returns the version it prints. */
export async function releaseVersion(dir: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(`${dir}/bin/pushbridge`, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
      stdin: "null",
    }).output();
    const match = /^pushbridge (\S+)/.exec(new TextDecoder().decode(out.stdout));
    return out.success && match ? match[1] : undefined;
  } catch {
    return undefined;
  }
}
