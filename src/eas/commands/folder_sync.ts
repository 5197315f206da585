import type { BackendFolder } from "../../backend/types.ts";
import type { KnownFolder } from "../../store/folders.ts";
import { childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { FOLDER_STATUS } from "../protocol/status.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "FolderHierarchy";

/**
 * FolderSync (MS-ASCMD 2.2.1.5): the folder hierarchy from SyncKey 0, then
 * the changes since the key the device holds.
 *
 * Keys are numbers per device. The folder list behind each of the last two
 * keys is stored, so a device that resends the previous key (its last response
 * was lost) gets a correct diff instead of an error loop. SyncKey 0 always
 * starts over cleanly: iOS and the Gmail app send it again after errors.
 */
export async function folderSync(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const keyText = childText(request.body, "SyncKey", NS);
  if (request.body?.name !== "FolderSync" || keyText === undefined || !/^\d{1,9}$/.test(keyText)) {
    return { body: statusOnly(FOLDER_STATUS.MalformedRequest) };
  }
  const key = Number(keyText);
  const folders = ctx.store.folders;
  const deviceId = ctx.device.id;
  let held: KnownFolder[];
  if (key === 0) {
    held = [];
  } else {
    const state = folders.folderState(deviceId, key);
    // Unknown key (too old, or from a deleted partnership): Status 9 tells the phone to start from 0.
    if (!state) return { body: statusOnly(FOLDER_STATUS.InvalidSyncKey) };
    held = state;
  }

  const current = toKnownFolders(ctx.user, await ctx.backend.listFolders(), ctx);
  const changes = diffFolders(held, current);
  const latest = folders.latestFolderKey(deviceId);
  let newKey = key;
  if (key === 0 || changes.count > 0 || key !== latest) {
    newKey = key === 0 ? 1 : latest + 1;
    ctx.store.db.transaction(() => {
      if (key === 0) folders.resetFolderState(deviceId);
      folders.saveFolderState(deviceId, newKey, current);
    });
  }
  return {
    body: el(
      NS,
      "FolderSync",
      textEl(NS, "Status", FOLDER_STATUS.Success),
      textEl(NS, "SyncKey", String(newKey)),
      el(
        NS,
        "Changes",
        textEl(NS, "Count", changes.count),
        ...changes.updates.map((f) => folderElement("Update", f)),
        ...changes.deletes.map((f) => el(NS, "Delete", textEl(NS, "ServerId", f.serverId))),
        ...changes.adds.map((f) => folderElement("Add", f)),
      ),
    ),
  };
}

/** Maps backend folders to what a device is told: short ids, parents first. */
function toKnownFolders(user: string, backendFolders: BackendFolder[], ctx: CommandContext): KnownFolder[] {
  const byKey = new Map(backendFolders.map((f) => [f.key, f]));
  const depth = (f: BackendFolder): number => {
    let d = 0;
    for (let p = f.parentKey; p !== null && d < 64; p = byKey.get(p)?.parentKey ?? null) d++;
    return d;
  };
  const sorted = [...backendFolders].sort((a, b) => depth(a) - depth(b) || a.key.localeCompare(b.key));
  return sorted.map((f) => ({
    serverId: ctx.store.folders.serverIdFor(user, f.key),
    // A parent the backend does not list (e.g. a \Noselect IMAP level) is shown as the root.
    parentId: f.parentKey !== null && byKey.has(f.parentKey)
      ? ctx.store.folders.serverIdFor(user, f.parentKey)
      : "0",
    displayName: f.displayName,
    type: f.type,
  }));
}

/** What changed between the folders a device holds and the current ones. */
export function diffFolders(held: KnownFolder[], current: KnownFolder[]): {
  adds: KnownFolder[];
  updates: KnownFolder[];
  deletes: KnownFolder[];
  count: number;
} {
  const before = new Map(held.map((f) => [f.serverId, f]));
  const after = new Set(current.map((f) => f.serverId));
  const adds: KnownFolder[] = [];
  const updates: KnownFolder[] = [];
  for (const folder of current) {
    const old = before.get(folder.serverId);
    if (!old) adds.push(folder);
    else if (
      old.displayName !== folder.displayName || old.parentId !== folder.parentId || old.type !== folder.type
    ) {
      updates.push(folder);
    }
  }
  const deletes = held.filter((f) => !after.has(f.serverId));
  return { adds, updates, deletes, count: adds.length + updates.length + deletes.length };
}

function folderElement(kind: "Add" | "Update", folder: KnownFolder): WbxmlElement {
  return el(
    NS,
    kind,
    textEl(NS, "ServerId", folder.serverId),
    textEl(NS, "ParentId", folder.parentId),
    textEl(NS, "DisplayName", folder.displayName),
    textEl(NS, "Type", folder.type),
  );
}

function statusOnly(status: number): WbxmlElement {
  return el(NS, "FolderSync", textEl(NS, "Status", status));
}
