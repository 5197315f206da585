import { el, opaqueEl, textEl, toXml, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { EasClient } from "./client.ts";
import { LOOKUP_USAGE, lookupCommand } from "./lookup_commands.ts";
import { provision, RemoteWipeRequested } from "./provision.ts";
import { mailOptions, syncRequest } from "./requests.ts";

const USAGE = `Pushbridge EAS client

Usage: deno task eas -- COMMAND --url URL --user USER --password PASS [options]

Commands:
  options                 OPTIONS: supported versions and commands
  foldersync [--key K]    FolderSync from SyncKey K (default 0)
  sendmail --to ADDR [--from ADDR] [--subject S] [--text T] [--client-id ID] [--save]
                          SendMail of a plain-text message (--mime FILE sends a file instead)
  moveitems --item ID --from-folder F --to-folder T
                          MoveItems of one message
  foldercreate --key K --name N [--parent P] [--folder-type T]
                          FolderCreate (T 12 mail, default; 13 calendar, 14 contacts, 15 tasks, 17 notes)
  folderupdate --key K --id F --name N [--parent P]
                          FolderUpdate: rename / move folder F
  folderdelete --key K --id F                     FolderDelete of folder F
  meetingresponse --collection C --item ID --answer accept|tentative|decline [--send] [--note TEXT]
                          MeetingResponse to a meeting mail or calendar item (--send: 16.x SendResponse)
  sync --collection C [--key K] [--window N] [--body-type T] [--truncation N]
                          Sync of one collection from SyncKey K (default 0)
  estimate --collection C --key K                 GetItemEstimate of one collection
  fetch --collection C --item ID [--body-type T]  ItemOperations Fetch of a mail item (T 4 = MIME)
  attachment --ref R [--out FILE]                 ItemOperations Fetch of an attachment by FileReference
  provision               Provision handshake: prints the policy and the final PolicyKey
                          (use it with --policy-key; 2.5 gets the XML policy, 12.0+ the WBXML one)
  ping [--folders ID,ID --class C] [--heartbeat S]
                          Ping (held until a change or the heartbeat; no --folders repeats the last Ping)
${LOOKUP_USAGE}

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
      case "sendmail":
      case "moveitems":
      case "foldercreate":
      case "folderupdate":
      case "folderdelete":
      case "meetingresponse": {
        let name: string;
        let body: WbxmlElement;
        try {
          [name, body] = await mailCommand(command, flags, user);
        } catch (error) {
          console.error(error instanceof Error ? error.message : String(error));
          return 2;
        }
        const reply = await client.command(name, body);
        console.log(reply.body ? toXml(reply.body) : `HTTP ${reply.status} (empty body: success)`);
        return reply.status === 200 ? 0 : 1;
      }
      case "sync":
      case "estimate":
      case "fetch":
      case "attachment": {
        let name: string;
        let body: WbxmlElement;
        try {
          [name, body] = syncCommand(command, flags);
        } catch (error) {
          console.error(error instanceof Error ? error.message : String(error));
          return 2;
        }
        const reply = await client.command(name, body);
        const out = flags.get("out");
        if (command === "attachment" && out && reply.body) {
          const data = reply.body.children?.find((c) => c.name === "Response")?.children?.[0]?.children
            ?.find((c) => c.name === "Properties")?.children?.find((c) => c.name === "Data");
          const text = data?.text ?? (data?.opaque ? new TextDecoder().decode(data.opaque) : "");
          await Deno.writeFile(out, Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
        }
        console.log(reply.body ? toXml(reply.body) : `HTTP ${reply.status} (empty body)`);
        return reply.status === 200 ? 0 : 1;
      }
      case "ping": {
        const ids = (flags.get("folders") ?? "").split(",").filter(Boolean);
        const heartbeat = flags.get("heartbeat");
        const cls = flags.get("class") ?? "Email";
        const body = ids.length || heartbeat
          ? el(
            "Ping",
            "Ping",
            heartbeat ? textEl("Ping", "HeartbeatInterval", heartbeat) : undefined,
            ids.length
              ? el(
                "Ping",
                "Folders",
                ...ids.map((id) =>
                  el("Ping", "Folder", textEl("Ping", "Id", id), textEl("Ping", "Class", cls))
                ),
              )
              : undefined,
          )
          : undefined;
        const reply = await client.command("Ping", body);
        console.log(reply.body ? toXml(reply.body) : `HTTP ${reply.status} (no WBXML body)`);
        return reply.status === 200 ? 0 : 1;
      }
      case "provision": {
        try {
          const outcome = await provision(client);
          console.log(toXml(outcome.policy, { redact: false }));
          console.log(`Temporary PolicyKey: ${outcome.temporaryKey}`);
          console.log(`PolicyKey: ${outcome.finalKey}`);
          return 0;
        } catch (error) {
          console.error(error instanceof Error ? error.message : String(error));
          return error instanceof RemoteWipeRequested ? 3 : 1;
        }
      }
      case "search":
      case "find":
      case "resolve":
      case "oof": {
        const [name, body] = lookupCommand(command, flags);
        const reply = await client.command(name, body);
        console.log(
          reply.body ? toXml(reply.body, { redact: false }) : `HTTP ${reply.status} (no WBXML body)`,
        );
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

/** Builds the request of a mail-changing command from the flags; throws with a clear message when one is missing. */
async function mailCommand(
  command: string,
  flags: Map<string, string>,
  user: string,
): Promise<[string, WbxmlElement]> {
  const need = (name: string): string => {
    const value = flags.get(name);
    if (value === undefined || value === "true") {
      throw new Error(`Option '--${name}' is required for ${command}`);
    }
    return value;
  };
  const fh = (name: string, fields: [string, string][]) =>
    el("FolderHierarchy", name, ...fields.map(([k, v]) => textEl("FolderHierarchy", k, v)));
  switch (command) {
    case "sendmail": {
      const mime = flags.has("mime") ? await Deno.readFile(need("mime")) : new TextEncoder().encode(
        [
          `From: ${flags.get("from") ?? user}`,
          `To: ${need("to")}`,
          `Subject: ${flags.get("subject") ?? "Test from the Pushbridge EAS client"}`,
          `Date: ${new Date().toUTCString()}`,
          "MIME-Version: 1.0",
          "Content-Type: text/plain; charset=utf-8",
          "",
          flags.get("text") ?? "Hello.",
          "",
        ].join("\r\n"),
      );
      const ns = "ComposeMail";
      return [
        "SendMail",
        el(
          ns,
          "SendMail",
          textEl(ns, "ClientId", flags.get("client-id") ?? crypto.randomUUID().slice(0, 36)),
          flags.has("save") && el(ns, "SaveInSentItems"),
          opaqueEl(ns, "Mime", mime),
        ),
      ];
    }
    case "moveitems": {
      const ns = "Move";
      return [
        "MoveItems",
        el(
          ns,
          "MoveItems",
          el(
            ns,
            "Move",
            textEl(ns, "SrcMsgId", need("item")),
            textEl(ns, "SrcFldId", need("from-folder")),
            textEl(ns, "DstFldId", need("to-folder")),
          ),
        ),
      ];
    }
    case "foldercreate":
      return [
        "FolderCreate",
        fh("FolderCreate", [
          ["SyncKey", need("key")],
          ["ParentId", flags.get("parent") ?? "0"],
          ["DisplayName", need("name")],
          ["Type", flags.get("folder-type") ?? "12"],
        ]),
      ];
    case "folderupdate":
      return [
        "FolderUpdate",
        fh("FolderUpdate", [
          ["SyncKey", need("key")],
          ["ServerId", need("id")],
          ["ParentId", flags.get("parent") ?? "0"],
          ["DisplayName", need("name")],
        ]),
      ];
    case "meetingresponse": {
      const ns = "MeetingResponse";
      const answer = { accept: "1", tentative: "2", decline: "3" }[need("answer")];
      if (!answer) throw new Error(`Option '--answer' must be accept, tentative or decline`);
      const note = flags.get("note");
      return [
        "MeetingResponse",
        el(
          ns,
          "MeetingResponse",
          el(
            ns,
            "Request",
            textEl(ns, "UserResponse", answer),
            textEl(ns, "CollectionId", need("collection")),
            textEl(ns, "RequestId", need("item")),
            flags.has("send")
              ? el(
                ns,
                "SendResponse",
                note
                  ? el(
                    "AirSyncBase",
                    "Body",
                    textEl("AirSyncBase", "Type", "1"),
                    textEl("AirSyncBase", "Data", note),
                  )
                  : undefined,
              )
              : undefined,
          ),
        ),
      ];
    }
    default:
      return ["FolderDelete", fh("FolderDelete", [["SyncKey", need("key")], ["ServerId", need("id")]])];
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

/** Builds Sync / GetItemEstimate / ItemOperations requests from the flags. */
function syncCommand(command: string, flags: Map<string, string>): [string, WbxmlElement] {
  const need = (name: string) => {
    const value = flags.get(name);
    if (!value) throw new Error(`Option '--${name}' is required for '${command}'`);
    return value;
  };
  const AS = "AirSync";
  const ASB = "AirSyncBase";
  const IO = "ItemOperations";
  const preference = () =>
    el(
      ASB,
      "BodyPreference",
      textEl(ASB, "Type", flags.get("body-type") ?? "1"),
      flags.get("truncation") ? textEl(ASB, "TruncationSize", flags.get("truncation")!) : undefined,
    );
  switch (command) {
    case "sync": {
      const truncation = flags.get("truncation");
      return [
        "Sync",
        syncRequest(need("collection"), flags.get("key") ?? "0", [
          textEl(AS, "WindowSize", flags.get("window") ?? "25"),
          mailOptions({
            bodyType: Number(flags.get("body-type") ?? "1"),
            ...(truncation ? { truncation: Number(truncation) } : {}),
          }),
        ]),
      ];
    }
    case "estimate":
      return [
        "GetItemEstimate",
        el(
          "GetItemEstimate",
          "GetItemEstimate",
          el(
            "GetItemEstimate",
            "Collections",
            el(
              "GetItemEstimate",
              "Collection",
              textEl(AS, "SyncKey", need("key")),
              textEl("GetItemEstimate", "CollectionId", need("collection")),
            ),
          ),
        ),
      ];
    case "fetch":
      return [
        "ItemOperations",
        el(
          IO,
          IO,
          el(
            IO,
            "Fetch",
            textEl(IO, "Store", "Mailbox"),
            textEl(AS, "CollectionId", need("collection")),
            textEl(AS, "ServerId", need("item")),
            el(
              IO,
              "Options",
              textEl(AS, "MIMESupport", flags.get("body-type") === "4" ? 2 : 0),
              preference(),
            ),
          ),
        ),
      ];
    default:
      return [
        "ItemOperations",
        el(
          IO,
          IO,
          el(IO, "Fetch", textEl(IO, "Store", "Mailbox"), textEl(ASB, "FileReference", need("ref"))),
        ),
      ];
  }
}
