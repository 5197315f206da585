import { ConfigError, resolveSettings } from "./config/settings.ts";
import { createLogger, type LogLevel } from "./log/logger.ts";
import { startPushbridge } from "./server.ts";
import { Store } from "./store/mod.ts";
import { VERSION } from "./version.ts";
import { runWbxmlCli } from "./wbxml/cli.ts";
import { runDoctorCli } from "./doctor/cli.ts";
import { runUpdateCli } from "./update/cli.ts";
import { runAdminCli } from "./admin/cli.ts";

const USAGE = `pushbridge ${VERSION}: Exchange ActiveSync for the office mailstore

Usage:
  pushbridge serve            start the EAS server and the setup page
  pushbridge admin ...        device, policy, wipe and audit operations
  pushbridge wbxml decode|encode   convert WBXML <-> XML (stdin to stdout)
  pushbridge doctor           check data dir, certificate, mailstore, clock, free space
  pushbridge update FILE.pbu  install a signed update (rolls back when not healthy)
  pushbridge --version

Settings come from the setup page; PUSHBRIDGE_* environment variables win (see README.md).`;

/** CLI entry: subcommands serve, admin, wbxml. */
async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "serve":
      return await serve();
    case "wbxml":
      return await runWbxmlCli(rest);
    case "admin":
      return runAdminCli(rest, env());
    case "doctor":
      return await runDoctorCli(rest, env());
    case "update":
      return await runUpdateCli(rest, env());
    case "--version":
    case "version":
      console.log(`pushbridge ${VERSION}`);
      return 0;
    case undefined:
    case "help":
    case "--help":
      console.log(USAGE);
      return 0;
    default:
      console.error(`Unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

function env(): Record<string, string | undefined> {
  return Deno.env.toObject();
}

async function serve(): Promise<number> {
  const log = createLogger((Deno.env.get("PUSHBRIDGE_LOG_LEVEL") ?? "info") as LogLevel);
  let settings;
  try {
    const initial = resolveSettings(env());
    await Deno.mkdir(initial.dataDir, { recursive: true });
    const store = Store.open(`${initial.dataDir}/pushbridge.sqlite`);
    const stored = store.settings.all();
    store.close();
    settings = resolveSettings(env(), stored);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pushbridge: ${error.message}`);
      return 2;
    }
    throw error;
  }
  // Under systemd (INVOCATION_ID is set for services) Restart=always brings the box back after a clean
  // exit, so the setup page may offer "restart" to apply saved settings; elsewhere nothing would.
  const underSystemd = Boolean(Deno.env.get("INVOCATION_ID"));
  const server = await startPushbridge(settings, log, underSystemd ? { restart: () => void stop() } : {});
  console.log(`Exchange ActiveSync: ${server.easUrl}/Microsoft-Server-ActiveSync`);
  console.log(`Setup page:          ${server.setupUrl}/`);
  if (!settings.imapUrl) {
    console.log("No mailstore configured yet: open the setup page, or set PUSHBRIDGE_IMAP_URL");
  }
  const stop = async () => {
    await server.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await new Promise(() => {});
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
