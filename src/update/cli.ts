/**
 * The `pushbridge update` command (run as root on the appliance, by an
 * installer or by the path unit that picks up an upload from the setup page).
 *
 * @module
 */
import { ConfigError, resolveSettings } from "../config/settings.ts";
import { UpdateInstaller, UpdateInstallError, type UpdateOutcome } from "./installer.ts";
import { importUpdatePublicKey, UpdateVerificationError } from "./update_file.ts";

/** Environment of the update command (appliance paths are the defaults). */
export const UPDATE_ENV = {
  /** Root-owned directory of releases on the data partition. */
  releasesDir: ["PUSHBRIDGE_RELEASES", "/var/lib/pushbridge/releases"],
  /** Base64 Ed25519 public key baked into the image. */
  publicKeyFile: ["PUSHBRIDGE_UPDATE_KEY", "/etc/pushbridge/update-key.pub"],
  /** The systemd unit restarted after the swap. */
  service: ["PUSHBRIDGE_SERVICE", "pushbridge.service"],
  /** Seconds to wait for the new version to become healthy. */
  healthTimeout: ["PUSHBRIDGE_UPDATE_HEALTH_TIMEOUT", "180"],
} as const;

const USAGE = `Usage:
  pushbridge update FILE.pbu   verify, install, restart, roll back when not healthy
  pushbridge update --resume   finish an update interrupted by a reboot (boot-time guard)
  pushbridge update --status   show the current and previous release`;

function envOr(env: Record<string, string | undefined>, [name, fallback]: readonly [string, string]): string {
  const value = env[name];
  return value === undefined || value === "" ? fallback : value;
}

/** Runs `pushbridge update ...`; exit code 0 installed, 1 rolled back or rejected, 2 usage. */
export async function runUpdateCli(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const [first, ...rest] = args;
  if (!first || rest.length > 0 || first === "--help") {
    console.error(USAGE);
    return first === "--help" ? 0 : 2;
  }
  const releasesDir = envOr(env, UPDATE_ENV.releasesDir);
  let installer: UpdateInstaller;
  try {
    const settings = resolveSettings(env);
    const keyFile = envOr(env, UPDATE_ENV.publicKeyFile);
    let keyText: string;
    try {
      keyText = await Deno.readTextFile(keyFile);
    } catch (error) {
      throw new UpdateInstallError(`Update key '${keyFile}' cannot be read: ${(error as Error).message}`);
    }
    const timeout = Number(envOr(env, UPDATE_ENV.healthTimeout));
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new ConfigError(UPDATE_ENV.healthTimeout[0], `'${timeout}' is not a positive number of seconds`);
    }
    const service = envOr(env, UPDATE_ENV.service);
    const port = settings.setupListen.port;
    const host = ["0.0.0.0", "::", ""].includes(settings.setupListen.hostname)
      ? "127.0.0.1"
      : settings.setupListen.hostname;
    installer = new UpdateInstaller({
      releasesDir,
      dataDir: settings.dataDir,
      publicKey: await importUpdatePublicKey(keyText),
      stopService: () => systemctl("stop", service),
      startService: () => systemctl("start", service),
      probeHealth: (version) =>
        probeHealthz(`http://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`, version),
      healthTimeoutMs: timeout * 1000,
      log: (line) => console.log(line),
    });
  } catch (error) {
    if (
      error instanceof ConfigError || error instanceof UpdateInstallError ||
      error instanceof UpdateVerificationError
    ) {
      console.error(`pushbridge update: ${error.message}`);
      return error instanceof ConfigError ? 2 : 1;
    }
    throw error;
  }
  try {
    if (first === "--status") {
      const current = await installer.currentTarget();
      const previous = await Deno.readLink(`${releasesDir}/previous`).catch(() => undefined);
      console.log(`current: ${current ?? "none"}\nprevious: ${previous ?? "none"}`);
      return 0;
    }
    if (first === "--resume") {
      const outcome = await installer.resume();
      if (!outcome) console.log("No update pending");
      return outcome ? report(outcome) : 0;
    }
    if (first.startsWith("-")) {
      console.error(`Unknown update option '${first}'\n${USAGE}`);
      return 2;
    }
    return report(await installer.install(first));
  } catch (error) {
    if (error instanceof UpdateInstallError || error instanceof UpdateVerificationError) {
      console.error(`pushbridge update: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function report(outcome: UpdateOutcome): number {
  if (outcome.status === "installed") {
    console.log(`Updated to ${outcome.version}`);
    return 0;
  }
  console.error(
    `Update to ${outcome.version} rolled back (${outcome.reason}); running ${
      outcome.restored ?? "no release"
    }`,
  );
  return 1;
}

async function systemctl(verb: "stop" | "start", unit: string): Promise<void> {
  const result = await new Deno.Command("systemctl", { args: [verb, unit], stdout: "null", stderr: "piped" })
    .output();
  // A failed start is not fatal here: the health wait notices and rolls back.
  if (!result.success && verb === "stop") {
    throw new UpdateInstallError(
      `systemctl stop '${unit}' failed: ${new TextDecoder().decode(result.stderr).trim()}`,
    );
  }
}

/** One GET of the setup listener's /healthz; healthy when it reports `version`. */
export async function probeHealthz(url: string, version: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) });
  if (!response.ok) {
    await response.body?.cancel();
    return false;
  }
  const body = await response.json() as { ok?: boolean; version?: string };
  return body.ok === true && body.version === version;
}
