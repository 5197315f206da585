import { resolveSettings } from "../config/settings.ts";
import { PolicyValueError } from "../eas/provisioning/mod.ts";
import { Store } from "../store/mod.ts";
import { AdminError, DeviceAdmin, type DeviceView } from "./device_admin.ts";

const USAGE = `Usage: pushbridge admin COMMAND   (deno task admin -- COMMAND)
  devices [--user U] [--json]                      devices with policy, access and wipe status
  wipe --user U --device D [--account-only]        remote wipe (account-only needs a 16.1 client)
  wipe-cancel --user U --device D                  cancel a wipe in any state
  device-delete --user U --device D                delete a partnership and its sync state
  policy show [--scope S] [--json]                 the policy as resolved at a scope (default box)
  policy set --scope S KEY=VALUE...                override settings (MS-ASPROV element names)
  policy inherit --scope S [KEY...]                inherit again (all keys when none are given)
  access allow|block|quarantine [--user U [--device D] | --device-type T | --model M]
                                                   a rule; without a target the box default
  access list [--json] | access remove ID
  audit [--limit N] [--json]
Scopes: box, domain:DOMAIN, user:USER, device:USER/DEVICEID. The data dir is PUSHBRIDGE_DATA;
this works on the live data dir while the server runs (a running server notices within 2 s).`;

/** Parsed options: flags with values, boolean flags and the remaining words. */
interface Parsed {
  options: Map<string, string>;
  flags: Set<string>;
  words: string[];
}

const VALUE_OPTIONS = new Set(["--user", "--device", "--scope", "--device-type", "--model", "--limit"]);

function parseArgs(args: readonly string[]): Parsed {
  const parsed: Parsed = { options: new Map(), flags: new Set(), words: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUE_OPTIONS.has(arg)) {
      const value = args[++i];
      if (value === undefined) throw new AdminError(`Option '${arg}' needs a value`);
      parsed.options.set(arg, value);
    } else if (arg.startsWith("--")) {
      parsed.flags.add(arg);
    } else {
      parsed.words.push(arg);
    }
  }
  return parsed;
}

function required(parsed: Parsed, option: string): string {
  const value = parsed.options.get(option);
  if (value === undefined || value === "") throw new AdminError(`Option '${option}' is required`);
  return value;
}

/** Output sinks (tests capture them). */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const CONSOLE: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/**
 * `pushbridge admin ...`: opens the store in PUSHBRIDGE_DATA (WAL, so the
 * running server keeps working) and runs one operation; exit code 0 on
 * success, 1 when the operation was refused, 2 for a usage error.
 */
export function runAdminCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo = CONSOLE,
): number {
  const [verb, ...rest] = args;
  if (verb === undefined || verb === "help" || verb === "--help") {
    io.out(USAGE);
    return verb === undefined ? 2 : 0;
  }
  let store: Store;
  try {
    const settings = resolveSettings(env);
    store = Store.open(`${settings.dataDir}/pushbridge.sqlite`);
  } catch (error) {
    io.err(`pushbridge admin: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  try {
    const admin = new DeviceAdmin({ store, actor: `cli:${env.USER ?? env.LOGNAME ?? "unknown"}` });
    return run(admin, verb, parseArgs(rest), io);
  } catch (error) {
    if (error instanceof AdminError || error instanceof PolicyValueError) {
      io.err(error.message);
      return 1;
    }
    throw error;
  } finally {
    store.close();
  }
}

function run(admin: DeviceAdmin, verb: string, parsed: Parsed, io: CliIo): number {
  const json = parsed.flags.has("--json");
  const print = (value: unknown, text: () => string[]) => {
    if (json) io.out(JSON.stringify(value, null, 2));
    else for (const line of text()) io.out(line);
  };
  switch (verb) {
    case "devices": {
      const devices = admin.devices(parsed.options.get("--user"));
      print(
        devices,
        () => devices.length === 0 ? ["No devices"] : table(devices.map(deviceRow), DEVICE_HEAD),
      );
      return 0;
    }
    case "wipe": {
      const wipe = admin.wipe(required(parsed, "--user"), required(parsed, "--device"), {
        accountOnly: parsed.flags.has("--account-only"),
      });
      print(
        wipe,
        () => [
          `${wipe.kind === "account" ? "Account-only wipe" : "Wipe"} ${wipe.state} for ${wipe.deviceId}`,
        ],
      );
      return 0;
    }
    case "wipe-cancel": {
      const wipe = admin.cancelWipe(required(parsed, "--user"), required(parsed, "--device"));
      print(wipe, () => [`Wipe of ${wipe.deviceId} cancelled (was ${wipe.state})`]);
      return 0;
    }
    case "device-delete": {
      const user = required(parsed, "--user");
      const device = required(parsed, "--device");
      admin.deleteDevice(user, device);
      print({ deleted: { user, deviceId: device } }, () => [`Device ${device} of ${user} deleted`]);
      return 0;
    }
    case "policy":
      return policy(admin, parsed, io, print);
    case "access":
      return access(admin, parsed, print);
    case "audit": {
      const limit = Number(parsed.options.get("--limit") ?? "200");
      if (!Number.isInteger(limit) || limit < 1) {
        throw new AdminError(`'--limit' must be a positive whole number`);
      }
      const entries = admin.audit(limit);
      print(entries, () =>
        table(
          entries.map((
            e,
          ) => [new Date(e.at).toISOString(), e.actor, e.user, e.deviceId, e.action, e.result, e.detail]),
          ["TIME", "ADMIN", "USER", "DEVICE", "ACTION", "RESULT", "DETAIL"],
        ));
      return 0;
    }
    default:
      io.err(`Unknown admin command '${verb}'\n\n${USAGE}`);
      return 2;
  }
}

type Print = (value: unknown, text: () => string[]) => void;

function policy(admin: DeviceAdmin, parsed: Parsed, io: CliIo, print: Print): number {
  const [sub, ...words] = parsed.words;
  if (sub === "show") {
    const shown = admin.showPolicy(parsed.options.get("--scope") ?? "box");
    print(shown, () => [
      `Policy at ${shown.scope}${shown.neutral ? " (neutral: asks nothing of phones)" : ""}`,
      ...table(shown.rows.map((r) => [r.key, r.value === "" ? "(none)" : r.value, r.source]), [
        "KEY",
        "VALUE",
        "FROM",
      ]),
    ]);
    return 0;
  }
  if (sub === "set") {
    const values = admin.setPolicy(required(parsed, "--scope"), words);
    print(values, () => Object.entries(values).map(([k, v]) => `${k}=${v}`));
    return 0;
  }
  if (sub === "inherit") {
    const removed = admin.inheritPolicy(required(parsed, "--scope"), words);
    print({ removed }, () => [`${removed} setting(s) now inherited`]);
    return 0;
  }
  io.err(`Unknown policy command '${sub ?? ""}' (show, set, inherit)`);
  return 2;
}

function access(admin: DeviceAdmin, parsed: Parsed, print: Print): number {
  const [sub, id] = parsed.words;
  if (sub === "allow" || sub === "block" || sub === "quarantine") {
    const target: { user?: string; deviceId?: string; deviceType?: string; model?: string } = {};
    const user = parsed.options.get("--user");
    const device = parsed.options.get("--device");
    const type = parsed.options.get("--device-type");
    const model = parsed.options.get("--model");
    if (user !== undefined) target.user = user;
    if (device !== undefined) target.deviceId = device;
    if (type !== undefined) target.deviceType = type;
    if (model !== undefined) target.model = model;
    const rule = admin.setAccess(sub, target);
    print(rule, () => [`Rule #${rule.id}: ${rule.action} ${describeRule(rule)}`]);
    return 0;
  }
  if (sub === "list" || sub === undefined) {
    const rules = admin.accessRules();
    print(
      rules,
      () =>
        rules.length === 0
          ? ["No access rules: every device is allowed"]
          : table(rules.map((r) => [`#${r.id}`, r.action, describeRule(r), r.createdBy]), [
            "ID",
            "ACTION",
            "MATCH",
            "BY",
          ]),
    );
    return 0;
  }
  if (sub === "remove") {
    const n = Number(id);
    if (!Number.isInteger(n)) throw new AdminError(`'${id ?? ""}' is not a rule id`);
    admin.removeAccess(n);
    print({ removed: n }, () => [`Rule #${n} removed`]);
    return 0;
  }
  throw new AdminError(`Unknown access command '${sub}' (allow, block, quarantine, list, remove)`);
}

function describeRule(rule: { match: string; user: string; value: string }): string {
  if (rule.match === "default") return "default";
  if (rule.match === "device") return `device ${rule.user}/${rule.value}`;
  if (rule.match === "user") return `user ${rule.user}`;
  return `${rule.match} ${rule.value}`;
}

const DEVICE_HEAD = [
  "USER",
  "DEVICE",
  "TYPE",
  "MODEL",
  "OS",
  "PROTOCOL",
  "FIRST SYNC",
  "LAST SYNC",
  "POLICY",
  "ACCESS",
  "WIPE",
];

function deviceRow(d: DeviceView): string[] {
  const day = (t: number) => new Date(t).toISOString().slice(0, 16).replace("T", " ");
  const access = d.access.state + (d.access.notice ? ` (notice ${d.access.notice})` : "");
  const wipe = d.wipe ? `${d.wipe.kind === "account" ? "account " : ""}${d.wipe.state}` : "-";
  return [
    d.user,
    d.deviceId,
    d.deviceType,
    d.model || "-",
    d.os || "-",
    d.protocolVersion,
    day(d.firstSync),
    day(d.lastSync),
    d.policy,
    access,
    wipe,
  ];
}

/** Aligned columns. */
function table(rows: string[][], head: string[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), ...rows.map(line)];
}
