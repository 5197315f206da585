import { el, textEl, toXml } from "../../src/wbxml/mod.ts";
import { EasClient } from "./client.ts";

const USAGE = `Pushbridge EAS client

Usage: deno task eas -- COMMAND --url URL --user USER --password PASS [options]

Commands:
  options                 OPTIONS: supported versions and commands
  foldersync [--key K]    FolderSync from SyncKey K (default 0)

Options:
  --device ID             DeviceId (default pbclient0001)
  --type TYPE             DeviceType (default PushbridgeClient)
  --version V             protocol version (default 16.1)
  --ca FILE               PEM CA certificate to trust (the box's ca.pem)
  --policy-key KEY        X-MS-PolicyKey to send
  --trace                 print decoded request and response XML
Environment: PUSHBRIDGE_EAS_PASSWORD may hold the password instead of --password.`;

/** Parses --name value pairs and bare flags. */
function parseArgs(args: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") continue;
    if (arg.startsWith("--")) {
      const next = args[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        flags.set(arg.slice(2), next);
        i++;
      } else {
        flags.set(arg.slice(2), "true");
      }
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

async function main(args: string[]): Promise<number> {
  const { positional, flags } = parseArgs(args);
  const command = positional[0];
  const url = flags.get("url");
  const user = flags.get("user");
  const password = flags.get("password") ?? Deno.env.get("PUSHBRIDGE_EAS_PASSWORD");
  if (!command || flags.has("help") || !url || !user || !password) {
    console.error(USAGE);
    return command && !flags.has("help") ? 2 : 0;
  }
  const ca = flags.get("ca");
  const client = new EasClient({
    url,
    user,
    password,
    deviceId: flags.get("device") ?? "pbclient0001",
    deviceType: flags.get("type") ?? "PushbridgeClient",
    protocolVersion: flags.get("version") ?? "16.1",
    ...(ca ? { caCerts: [await Deno.readTextFile(ca)] } : {}),
    ...(flags.get("policy-key") ? { policyKey: flags.get("policy-key")! } : {}),
    ...(flags.has("trace")
      ? { trace: (dir: string, text: string) => console.error(`--- ${dir}\n${text}`) }
      : {}),
  });
  try {
    switch (command) {
      case "options": {
        const result = await client.probe();
        console.log(`HTTP ${result.status}`);
        console.log(`versions: ${result.versions.join(",")}`);
        console.log(`commands: ${result.commands.join(",")}`);
        return result.status === 200 ? 0 : 1;
      }
      case "foldersync": {
        const body = el(
          "FolderHierarchy",
          "FolderSync",
          textEl("FolderHierarchy", "SyncKey", flags.get("key") ?? "0"),
        );
        const reply = await client.command("FolderSync", body);
        console.log(reply.body ? toXml(reply.body) : `HTTP ${reply.status} (no WBXML body)`);
        return reply.status === 200 ? 0 : 1;
      }
      default:
        console.error(`Unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
  } finally {
    client.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
