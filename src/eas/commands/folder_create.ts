import { FOLDER_TYPE, type FolderType } from "../protocol/folder_types.ts";
import { FOLDER_STATUS } from "../protocol/status.ts";
import {
  checkNameFree,
  displayNameOf,
  field,
  folderById,
  FolderChangeFailure,
  itemSourceOf,
  knownFolder,
  parentFolder,
  runFolderChange,
  serverIdElement,
} from "./_folder_change.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/** Folder types a phone may create as mail folders (MS-ASCMD 2.2.3.186.2: 12, and 1 "user-created folder (generic)"). */
const MAIL_TYPES: ReadonlySet<number> = new Set([FOLDER_TYPE.UserMail, FOLDER_TYPE.UserGeneric]);

/** Folder types created as CalDAV calendars / task lists / journals or CardDAV address books (MS-ASCMD 2.2.3.186.2). */
const ITEM_TYPES: ReadonlySet<number> = new Set([
  FOLDER_TYPE.Tasks,
  FOLDER_TYPE.Calendar,
  FOLDER_TYPE.Contacts,
  FOLDER_TYPE.Notes,
  FOLDER_TYPE.UserCalendar,
  FOLDER_TYPE.UserContacts,
  FOLDER_TYPE.UserTasks,
  FOLDER_TYPE.UserNotes,
]);

/**
 * FolderCreate (MS-ASCMD 2.2.1.3): creates a mail folder under ParentId ("0"
 * is the top level) as an IMAP mailbox, with the server's hierarchy
 * delimiter. Calendar, contacts, tasks and notes folders become CalDAV
 * calendars or CardDAV address books (MKCALENDAR / MKCOL); those have no
 * nesting, so they are created at the top level whatever ParentId names,
 * as long as it names a folder of the user.
 */
export function folderCreate(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return runFolderChange("FolderCreate", request, ctx, async ({ body, current, held }) => {
    const typeText = field(body, "Type");
    if (typeText === undefined || !/^\d{1,2}$/.test(typeText)) {
      throw new FolderChangeFailure(FOLDER_STATUS.MalformedRequest, "Type is missing or not a number");
    }
    const type = Number(typeText);
    if (ITEM_TYPES.has(type)) {
      const name = displayNameOf(body);
      const parentId = field(body, "ParentId");
      if (parentId === undefined) {
        throw new FolderChangeFailure(FOLDER_STATUS.MalformedRequest, "ParentId is missing");
      }
      if (parentId !== "0" && !folderById(ctx, current, parentId)) {
        throw new FolderChangeFailure(
          FOLDER_STATUS.ParentNotFound,
          `Parent folder '${parentId}' does not exist`,
        );
      }
      const source = itemSourceOf(ctx);
      if (!source) {
        throw new FolderChangeFailure(FOLDER_STATUS.ServerError, "No CalDAV/CardDAV server is configured");
      }
      const key = await source.createFolder(type, name);
      // The source's own listing says which type the new folder has (default or user folder).
      const listed = (await source.listFolders()).find((f) => f.key === key);
      const created = knownFolder(
        ctx,
        listed ?? { key, parentKey: null, displayName: name, type: type as FolderType },
      );
      return { held: [...held, created], extra: [serverIdElement(created.serverId)] };
    }
    if (!MAIL_TYPES.has(type)) {
      throw new FolderChangeFailure(
        FOLDER_STATUS.ServerError,
        `Creating folders of type '${typeText}' is not supported`,
      );
    }
    const name = displayNameOf(body);
    const parent = parentFolder(ctx, current, field(body, "ParentId"));
    checkNameFree(current, parent?.key ?? null, name);
    if (!ctx.mailOps) {
      throw new FolderChangeFailure(FOLDER_STATUS.ServerError, "No IMAP server is configured");
    }
    const key = await ctx.mailOps.createFolder(parent?.key ?? null, name);
    const created = knownFolder(ctx, {
      key,
      parentKey: parent?.key ?? null,
      displayName: name,
      type: FOLDER_TYPE.UserMail,
    });
    return { held: [...held, created], extra: [serverIdElement(created.serverId)] };
  });
}
