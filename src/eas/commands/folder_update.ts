import { FOLDER_STATUS } from "../protocol/status.ts";
import {
  checkNameFree,
  displayNameOf,
  field,
  folderById,
  FolderChangeFailure,
  isMailKey,
  itemSourceOf,
  knownFolder,
  parentFolder,
  PROTECTED_TYPES,
  runFolderChange,
} from "./_folder_change.ts";
import type { KnownFolder } from "../../store/folders.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/**
 * FolderUpdate (MS-ASCMD 2.2.1.4): renames a mail folder and/or moves it
 * under another parent (IMAP RENAME, which takes the subfolders along). The
 * folder and its subfolders keep their ServerIds, so the phone keeps their
 * contents and sync state. Inbox, Sent, Drafts and Trash cannot be changed
 * (Status 3).
 */
export function folderUpdate(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return runFolderChange("FolderUpdate", request, ctx, async ({ body, current, held }) => {
    const serverId = field(body, "ServerId");
    const folder = folderById(ctx, current, serverId);
    if (!folder) throw new FolderChangeFailure(FOLDER_STATUS.NotFound, `Folder '${serverId}' does not exist`);
    if (PROTECTED_TYPES.has(folder.type)) {
      throw new FolderChangeFailure(FOLDER_STATUS.SpecialFolder, `Folder '${serverId}' is a special folder`);
    }
    const name = displayNameOf(body);
    const itemSource = itemSourceOf(ctx, folder.key);
    if (itemSource) {
      // DAV collections have no parents: a rename only, at the top level.
      const parentId = field(body, "ParentId");
      if (parentId !== undefined && parentId !== "0") {
        throw new FolderChangeFailure(
          FOLDER_STATUS.ParentNotFound,
          "Calendar, contacts, tasks and notes folders stay at the top level",
        );
      }
      if (name === folder.displayName) return { held };
      await itemSource.renameFolder(folder.key, name);
      return { held: replaceHeld(held, knownFolder(ctx, { ...folder, displayName: name })) };
    }
    if (!isMailKey(folder.key)) {
      throw new FolderChangeFailure(FOLDER_STATUS.ServerError, `Folder '${serverId}' is not a mail folder`);
    }
    const parent = parentFolder(ctx, current, field(body, "ParentId"));
    // A folder cannot move into itself or below itself.
    for (let p = parent; p; p = current.find((f) => f.key === p!.parentKey) ?? null) {
      if (p.key === folder.key) {
        throw new FolderChangeFailure(FOLDER_STATUS.ParentNotFound, "A folder cannot move under itself");
      }
    }
    const parentKey = parent?.key ?? null;
    if (parentKey === folder.parentKey && name === folder.displayName) {
      // Nothing to change; still a success with a new key, as Exchange answers.
      return { held };
    }
    checkNameFree(current, parentKey, name, folder.key);
    if (!ctx.mailOps) {
      throw new FolderChangeFailure(FOLDER_STATUS.ServerError, "No IMAP server is configured");
    }
    const rekeys = await ctx.mailOps.renameFolder(folder.key, parentKey, name);
    const updated = knownFolder(ctx, { ...folder, parentKey, displayName: name });
    return { held: replaceHeld(held, updated), rekeys };
  });
}

/** The device's folder list with `updated` in place of its old entry. */
function replaceHeld(held: KnownFolder[], updated: KnownFolder): KnownFolder[] {
  const sid = updated.serverId;
  return held.some((f) => f.serverId === sid)
    ? held.map((f) => f.serverId === sid ? updated : f)
    : [...held, updated];
}
