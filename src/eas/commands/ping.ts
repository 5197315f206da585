import type { PingParams, WaitOutcome } from "../../push/hub.ts";
import { holdMsFor, PUSH_LIMITS } from "../../push/limits.ts";
import { stormKey } from "../../push/push_context.ts";
import { childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { EasHttpError } from "../protocol/errors.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "Ping";

/** Ping statuses (MS-ASCMD 2.2.3.177.10). */
export const PING_STATUS = {
  /** The heartbeat interval expired before any changes occurred. */
  Expired: 1,
  /** Changes occurred in at least one of the monitored folders; the response lists them. */
  ChangesFound: 2,
  /** The request did not specify all necessary parameters (no folders or heartbeat, none remembered). */
  MissingParameters: 3,
  /** Syntax error in the Ping request. */
  SyntaxError: 4,
  /** The heartbeat is out of bounds; the response names the allowed limit. */
  HeartbeatOutOfBounds: 5,
  /** Too many folders; the response names MaxFolders. */
  TooManyFolders: 6,
  /** The folder hierarchy is out of date: the device must FolderSync. */
  FolderSyncRequired: 7,
  /** Server error. */
  ServerError: 8,
} as const;

/** Response header of a throttled device (MS-ASHTTP 2.2.2.1.2.13). */
const THROTTLE_REASON = "CommandFrequency";

/**
 * Ping (MS-ASCMD 2.2.1.13): holds the request until a watched folder changes
 * or the heartbeat ends. Folders and heartbeat come from the request or, for
 * an empty body or missing parts, from the device's previous Ping (kept in
 * memory only: a quiet Ping writes nothing anywhere).
 *
 * The answer comes a few seconds before the heartbeat so NAT and proxies
 * whose idle timeout equals it do not cut the connection first. A newer Ping
 * or Sync of the device answers the held one at once (Status 1). A device in
 * a request storm is held longer before each answer, and refused with HTTP
 * 503 + X-MS-ASThrottle when it keeps on.
 */
export async function ping(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const push = ctx.push;
  if (!push) return { body: statusOnly(PING_STATUS.ServerError) };
  const parsed = parsePing(request.body);
  if (parsed === "syntax") return { body: statusOnly(PING_STATUS.SyntaxError) };
  const user = ctx.user;
  const deviceId = ctx.device.deviceId;
  const remembered = push.hub.recallPing(user, deviceId);
  const heartbeatSeconds = parsed.heartbeatSeconds ?? remembered?.heartbeatSeconds;
  const folders = parsed.folders ?? remembered?.folders;
  if (heartbeatSeconds === undefined || folders === undefined || folders.length === 0) {
    return { body: statusOnly(PING_STATUS.MissingParameters) };
  }

  const bounds = push.heartbeat;
  if (heartbeatSeconds < bounds.minSeconds || heartbeatSeconds > bounds.maxSeconds) {
    const limit = heartbeatSeconds < bounds.minSeconds ? bounds.minSeconds : bounds.maxSeconds;
    return {
      body: el(
        NS,
        "Ping",
        textEl(NS, "Status", PING_STATUS.HeartbeatOutOfBounds),
        textEl(NS, "HeartbeatInterval", limit),
      ),
    };
  }
  if (folders.length > PUSH_LIMITS.pingMaxFolders) {
    return {
      body: el(
        NS,
        "Ping",
        textEl(NS, "Status", PING_STATUS.TooManyFolders),
        textEl(NS, "MaxFolders", PUSH_LIMITS.pingMaxFolders),
      ),
    };
  }

  // ServerIds resolve only within the user's own folders: another user's id
  // (or a folder deleted since the last FolderSync) asks for a FolderSync.
  const idsByKey = new Map<string, string[]>();
  for (const folder of folders) {
    const key = ctx.store.folders.backendKeyOf(user, folder.id);
    if (key === undefined) return { body: statusOnly(PING_STATUS.FolderSyncRequired) };
    const ids = idsByKey.get(key);
    if (ids) ids.push(folder.id);
    else idsByKey.set(key, [folder.id]);
  }
  if (parsed.heartbeatSeconds !== undefined || parsed.folders !== undefined) {
    const params: PingParams = { folders, heartbeatSeconds };
    push.hub.rememberPing(user, deviceId, params);
  }

  const now = (push.now ?? Date.now)();
  const verdict = push.storm.note(stormKey(user, deviceId), now);
  if (verdict === "throttle") {
    const retry = push.storm.retryAfterSeconds(stormKey(user, deviceId), now);
    throw new EasHttpError(503, `Device '${deviceId}' sends requests too fast`, {
      "X-MS-ASThrottle": THROTTLE_REASON,
      "Retry-After": String(retry),
    });
  }
  const holdMs = holdMsFor(heartbeatSeconds);
  const outcome = await push.hub.wait({
    user,
    device: deviceId,
    keys: [...idsByKey.keys()],
    timeoutMs: holdMs,
    credentials: ctx.credentials,
    signal: ctx.signal,
    ...(verdict === "slow" ? { minHoldMs: Math.min(holdMs, push.storm.holdMs) } : {}),
  });
  return { body: answer(outcome, idsByKey, folders) };
}

/** The parts of a Ping request that were given (undefined = take the remembered value). */
interface ParsedPing {
  heartbeatSeconds: number | undefined;
  folders: PingParams["folders"] | undefined;
}

/** Reads a Ping body; "syntax" for anything that is not a well-formed Ping. */
export function parsePing(body: WbxmlElement | undefined): ParsedPing | "syntax" {
  if (!body) return { heartbeatSeconds: undefined, folders: undefined };
  if (body.name !== "Ping" || body.ns !== NS) return "syntax";
  const heartbeatText = childText(body, "HeartbeatInterval", NS);
  let heartbeatSeconds: number | undefined;
  if (heartbeatText !== undefined) {
    if (!/^\d{1,6}$/.test(heartbeatText.trim())) return "syntax";
    heartbeatSeconds = Number(heartbeatText.trim());
  }
  const foldersEl = childrenNamed(body, "Folders", NS);
  if (foldersEl.length > 1) return "syntax";
  let folders: { id: string; class: string }[] | undefined;
  if (foldersEl.length === 1) {
    folders = [];
    for (const folder of childrenNamed(foldersEl[0], "Folder", NS)) {
      const id = childText(folder, "Id", NS);
      if (id === undefined || id === "" || id.length > 64) return "syntax";
      folders.push({ id, class: childText(folder, "Class", NS) ?? "" });
    }
  }
  return { heartbeatSeconds, folders };
}

function answer(
  outcome: WaitOutcome,
  idsByKey: Map<string, string[]>,
  folders: PingParams["folders"],
): WbxmlElement {
  let ids: string[];
  if (outcome.kind === "changed") {
    ids = outcome.keys.flatMap((key) => idsByKey.get(key) ?? []);
  } else if (outcome.kind === "kicked") {
    // A pending wipe or policy change: any folder makes the phone sync, and
    // its next request meets the provisioning gate (449 / Status 142..144).
    ids = folders.map((f) => f.id);
  } else {
    // Expired, superseded by a newer request, client gone, or shutting down.
    return statusOnly(PING_STATUS.Expired);
  }
  return el(
    NS,
    "Ping",
    textEl(NS, "Status", PING_STATUS.ChangesFound),
    el(NS, "Folders", ...[...new Set(ids)].map((id) => textEl(NS, "Folder", id))),
  );
}

function statusOnly(status: number): WbxmlElement {
  return el(NS, "Ping", textEl(NS, "Status", status));
}
