import { FOLDER_TYPE } from "../protocol/folder_types.ts";
import { FOLDER_STATUS } from "../protocol/status.ts";
import {
  checkNameFree,
  displayNameOf,
  field,
  FolderChangeFailure,
  knownFolder,
  parentFolder,
  runFolderChange,
  serverIdElement,
} from "./_folder_change.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/** Folder types a phone may create as mail folders (MS-ASCMD 2.2.3.186.2: 12, and 1 "user-created folder (generic)"). */
const MAIL_TYPES: ReadonlySet<number> = new Set([FOLDER_TYPE.UserMail, FOLDER_TYPE.UserGeneric]);

/**
 * FolderCreate (MS-ASCMD 2.2.1.3): creates a mail folder under ParentId ("0"
 * is the top level) as an IMAP mailbox, with the server's hierarchy
 * delimiter. Calendar, contacts, tasks and notes folders are not created
 * here: they belong to the DAV bridge, which does not offer that yet, so the
 * answer is a server error rather than a folder that would not sync.
 */
export function folderCreate(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return runFolderChange("FolderCreate", request, ctx, async ({ body, current, held }) => {
    const typeText = field(body, "Type");
    if (typeText === undefined || !/^\d{1,2}$/.test(typeText)) {
      throw new FolderChangeFailure(FOLDER_STATUS.MalformedRequest, "Type is missing or not a number");
    }
    if (!MAIL_TYPES.has(Number(typeText))) {
      throw new FolderChangeFailure(
        FOLDER_STATUS.ServerError,
        `Creating folders of type ${typeText} is not supported; only mail folders can be created`,
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
