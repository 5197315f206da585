/**
 * The `pushbridge doctor` command: settings as `serve` would resolve them,
 * then every check, printed with what to fix.
 *
 * @module
 */
import { ConfigError, resolveSettings, type Settings } from "../config/settings.ts";
import { Store } from "../store/mod.ts";
import { ensureCertificate, localHostNames } from "../tls/load.ts";
import { formatDoctorReport, runDoctor } from "./doctor.ts";
import { runMaintenance } from "./maintenance.ts";

const USAGE = `Usage: pushbridge doctor [--json] [--fix] [--maintenance]
  --fix          create the data directory and a missing self-signed certificate first
  --maintenance  daily job: database integrity check and a backup, then the checks`;
const OPTIONS = ["--json", "--fix", "--maintenance"];

/** Runs the doctor; exit code 0 when nothing failed, 1 otherwise, 2 for bad settings or usage. */
export async function runDoctorCli(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const json = args.includes("--json");
  const unknown = args.filter((a) => !OPTIONS.includes(a));
  if (unknown.length > 0) {
    console.error(`Unknown doctor option '${unknown[0]}'\n${USAGE}`);
    return 2;
  }
  let settings: Settings;
  try {
    settings = resolveSettings(env);
    // Settings entered on the setup page live in the database; read them when it exists.
    const path = `${settings.dataDir}/pushbridge.sqlite`;
    if (await exists(path)) {
      const store = Store.open(path);
      try {
        settings = resolveSettings(env, store.settings.all());
      } finally {
        store.close();
      }
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(
        `FAIL  settings: ${error.message}\n      fix: correct that value and run pushbridge doctor again`,
      );
      return 2;
    }
    throw error;
  }
  if (args.includes("--fix")) {
    await Deno.mkdir(settings.dataDir, { recursive: true });
    if (settings.tls.mode === "self-signed") {
      // The same names `serve` uses, so the service keeps this certificate.
      const names = localHostNames();
      if (settings.publicHostName) names.dnsNames.unshift(settings.publicHostName);
      await ensureCertificate(settings.dataDir, names);
    }
  }
  if (args.includes("--maintenance")) {
    const result = await runMaintenance(settings.dataDir);
    if (result.integrity !== "ok") {
      console.error(`FAIL  database integrity: ${result.integrity}`);
      return 1;
    }
    console.log(`ok    database integrity; backup '${result.backup}'`);
    // The daily job judges the data partition only; a mailstore outage is not its failure.
    return 0;
  }
  const checks = await runDoctor(settings);
  console.log(json ? JSON.stringify(checks, null, 2) : formatDoctorReport(checks));
  return checks.some((c) => c.status === "fail") ? 1 : 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
