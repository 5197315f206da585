import { FOLDER_STATUS } from "../protocol/status.ts";
import {
  field,
  folderById,
  FolderChangeFailure,
  isMailKey,
  itemSourceOf,
  PROTECTED_TYPES,
  runFolderChange,
} from "./_folder_change.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/**
 * FolderDelete (MS-ASCMD 2.2.1.6): deletes a mail folder with its subfolders
 * and their messages, or a calendar, contacts, tasks or notes collection. Inbox, Sent, Drafts and Trash cannot be deleted
 * (Status 3). The device's folder list loses the folder and every folder
 * below it, as the phone drops them itself.
 */
export function folderDelete(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return runFolderChange("FolderDelete", request, ctx, async ({ body, current, held }) => {
    const serverId = field(body, "ServerId");
    const folder = folderById(ctx, current, serverId);
    if (!folder) throw new FolderChangeFailure(FOLDER_STATUS.NotFound, `Folder '${serverId}' does not exist`);
    if (PROTECTED_TYPES.has(folder.type)) {
      throw new FolderChangeFailure(FOLDER_STATUS.SpecialFolder, `Folder '${serverId}' is a special folder`);
    }
    const itemSource = itemSourceOf(ctx, folder.key);
    let removedKeys = [folder.key];
    if (itemSource) {
      // A DAV collection goes with every component folder it showed as (e.g. its Calendar and Tasks).
      removedKeys = await itemSource.deleteFolder(folder.key);
    } else {
      if (!isMailKey(folder.key)) {
        throw new FolderChangeFailure(FOLDER_STATUS.ServerError, `Folder '${serverId}' is not a mail folder`);
      }
      if (!ctx.mailOps) {
        throw new FolderChangeFailure(FOLDER_STATUS.ServerError, "No IMAP server is configured");
      }
      await ctx.mailOps.deleteFolder(folder.key);
    }
    // Drop the folder and its descendants, as the device knows them.
    const gone = new Set(removedKeys.map((key) => ctx.store.folders.serverIdFor(ctx.user, key)));
    let grew = true;
    while (grew) {
      grew = false;
      for (const f of held) {
        if (!gone.has(f.serverId) && gone.has(f.parentId)) {
          gone.add(f.serverId);
          grew = true;
        }
      }
    }
    // This device's sync state of the deleted folders is void; other devices drop theirs when they learn of it.
    for (const serverId of gone) ctx.store.syncState.forget(ctx.device.id, serverId);
    return { held: held.filter((f) => !gone.has(f.serverId)) };
  });
}
