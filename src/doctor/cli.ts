/**
 * The `pushbridge doctor` command: settings as `serve` would resolve them,
 * then every check, printed with what to fix.
 *
 * @module
 */
import { ConfigError, resolveSettings, type Settings } from "../config/settings.ts";
import { Store } from "../store/mod.ts";
import { formatDoctorReport, runDoctor } from "./doctor.ts";

/** Runs the doctor; exit code 0 when nothing failed, 1 otherwise, 2 for bad settings or usage. */
export async function runDoctorCli(args: string[], env: Record<string, string | undefined>): Promise<number> {
  const json = args.includes("--json");
  const unknown = args.filter((a) => a !== "--json");
  if (unknown.length > 0) {
    console.error(`Unknown doctor option '${unknown[0]}'\nUsage: pushbridge doctor [--json]`);
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
