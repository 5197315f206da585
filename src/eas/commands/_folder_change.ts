/**
 * What FolderCreate, FolderUpdate and FolderDelete share (MS-ASCMD 2.2.1.3,
 * 2.2.1.4, 2.2.1.6): they carry the device's FolderSync SyncKey and answer a
 * new one. The folder list stored for the new key is the list the device held
 * plus exactly its own change, so the next FolderSync neither repeats the
 * change nor hides other changes made meanwhile (e.g. on a desktop client).
 */
import { isItemFolderSource, ITEM_FOLDER_PREFIX, type ItemFolderSource } from "../../backend/items.ts";
import type { BackendFolder } from "../../backend/types.ts";
import { MailFolderError } from "../../backend/mail_operations.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { FOLDER_TYPE } from "../protocol/folder_types.ts";
import { FOLDER_STATUS } from "../protocol/status.ts";
import type { KnownFolder } from "../../store/folders.ts";
import { childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "FolderHierarchy";

/** The three hierarchy-changing commands. */
export type FolderCommand = "FolderCreate" | "FolderUpdate" | "FolderDelete";

/** Folder types a phone may not rename or delete (MS-ASCMD 2.2.3.177.4: Status 3 "system folder"). */
export const PROTECTED_TYPES: ReadonlySet<number> = new Set([
  FOLDER_TYPE.Inbox,
  FOLDER_TYPE.Drafts,
  FOLDER_TYPE.DeletedItems,
  FOLDER_TYPE.SentItems,
  FOLDER_TYPE.Outbox,
  FOLDER_TYPE.Tasks,
  FOLDER_TYPE.Calendar,
  FOLDER_TYPE.Contacts,
  FOLDER_TYPE.Notes,
  FOLDER_TYPE.Journal,
  FOLDER_TYPE.RecipientInformationCache,
]);

/** A refusal with its FolderHierarchy status. */
export class FolderChangeFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "FolderChangeFailure";
  }
}

/** What a command's change produced. */
export interface FolderChangeResult {
  /** The device's folder list after the change. */
  held: KnownFolder[];
  /** [old, new] backend keys whose ServerIds must follow (renames). */
  rekeys?: [string, string][];
  /** Elements after Status and SyncKey in the response (ServerId of FolderCreate). */
  extra?: WbxmlElement[];
}

/** Everything a change needs: the request body, the folders now, the list the device holds. */
export interface FolderChangeInput {
  body: WbxmlElement;
  ctx: CommandContext;
  current: BackendFolder[];
  held: KnownFolder[];
}

/**
 * Runs one hierarchy change: checks the SyncKey, lists the folders, applies
 * `change`, and stores the new key with the ServerId rekeys in one transaction.
 */
export async function runFolderChange(
  command: FolderCommand,
  request: EasRequest,
  ctx: CommandContext,
  change: (input: FolderChangeInput) => Promise<FolderChangeResult>,
): Promise<EasResponse> {
  const body = request.body;
  const keyText = childText(body, "SyncKey", NS);
  if (
    !body || body.name !== command || body.ns !== NS || keyText === undefined || !/^\d{1,9}$/.test(keyText)
  ) {
    return { body: statusOnly(command, FOLDER_STATUS.MalformedRequest) };
  }
  const deviceId = ctx.device.id;
  const held = Number(keyText) === 0 ? undefined : ctx.store.folders.folderState(deviceId, Number(keyText));
  // MS-ASCMD 2.2.3.177.3: an unknown key (or 0: the device never synced the hierarchy) is Status 9.
  if (!held) return { body: statusOnly(command, FOLDER_STATUS.InvalidSyncKey) };
  let result: FolderChangeResult;
  try {
    const current = await ctx.backend.listFolders();
    result = await change({ body, ctx, current, held });
  } catch (error) {
    return { body: statusOnly(command, statusOf(error)) };
  }
  const folders = ctx.store.folders;
  const newKey = ctx.store.db.transaction(() => {
    for (const [oldKey, newBackendKey] of result.rekeys ?? []) folders.rekey(ctx.user, oldKey, newBackendKey);
    const key = folders.latestFolderKey(deviceId) + 1;
    folders.saveFolderState(deviceId, key, result.held);
    return key;
  });
  return {
    body: el(
      NS,
      command,
      textEl(NS, "Status", FOLDER_STATUS.Success),
      textEl(NS, "SyncKey", String(newKey)),
      ...(result.extra ?? []),
    ),
  };
}

/** The response with only a Status. */
export function statusOnly(command: FolderCommand, status: number): WbxmlElement {
  return el(NS, command, textEl(NS, "Status", status));
}

function statusOf(error: unknown): number {
  if (error instanceof FolderChangeFailure) return error.status;
  if (error instanceof MailFolderError) {
    switch (error.failure) {
      case "exists":
        return FOLDER_STATUS.AlreadyExists;
      case "not-found":
        return FOLDER_STATUS.NotFound;
      case "parent-not-found":
        return FOLDER_STATUS.ParentNotFound;
      case "invalid-name":
        return FOLDER_STATUS.MalformedRequest;
      default:
        return FOLDER_STATUS.ServerError;
    }
  }
  // MS-ASCMD 2.2.3.177.3: 6 "an error occurred on the server" is the retryable one.
  if (error instanceof BackendUnavailableError) return FOLDER_STATUS.ServerError;
  throw error;
}

/** The folder behind a ServerId of this user, among the current folders, or undefined. */
export function folderById(
  ctx: CommandContext,
  current: BackendFolder[],
  serverId: string | undefined,
): BackendFolder | undefined {
  if (!serverId) return undefined;
  const key = ctx.store.folders.backendKeyOf(ctx.user, serverId);
  return key === undefined ? undefined : current.find((f) => f.key === key);
}

/**
 * The parent named by ParentId: null for "0" (the root), the folder otherwise.
 * Throws Status 5 when it is not one of the user's current mail folders.
 */
export function parentFolder(
  ctx: CommandContext,
  current: BackendFolder[],
  parentId: string | undefined,
): BackendFolder | null {
  if (parentId === undefined) {
    throw new FolderChangeFailure(FOLDER_STATUS.MalformedRequest, "ParentId is missing");
  }
  if (parentId === "0") return null;
  const parent = folderById(ctx, current, parentId);
  if (!parent || !isMailKey(parent.key)) {
    throw new FolderChangeFailure(FOLDER_STATUS.ParentNotFound, `Parent folder '${parentId}' does not exist`);
  }
  return parent;
}

/** Checks a DisplayName from the phone: non-empty, no control characters, a sane length. */
export function displayNameOf(body: WbxmlElement): string {
  const name = childText(body, "DisplayName", NS)?.trim();
  // deno-lint-ignore no-control-regex
  if (!name || name.length > 255 || /[\x00-\x1f\x7f]/.test(name)) {
    throw new FolderChangeFailure(FOLDER_STATUS.MalformedRequest, "DisplayName is missing or not valid");
  }
  return name;
}

/** Throws Status 2 when a sibling under `parentKey` already has `name` (INBOX is case-insensitive, RFC 3501 5.1). */
export function checkNameFree(
  current: BackendFolder[],
  parentKey: string | null,
  name: string,
  except?: string,
) {
  const clash = current.some((f) =>
    f.key !== except && f.parentKey === parentKey &&
    (f.displayName === name || (parentKey === null && name.toUpperCase() === "INBOX" &&
      f.displayName.toUpperCase() === "INBOX"))
  );
  if (clash) {
    throw new FolderChangeFailure(FOLDER_STATUS.AlreadyExists, `A folder '${name}' already exists there`);
  }
}

/** True for folders of the IMAP bridge (the only ones these commands change for now). */
export function isMailKey(key: string): boolean {
  return key.startsWith("imap:");
}

/**
 * The calendar/contacts/tasks/notes source owning `key` (without a key: the
 * one that would create such folders), or undefined when none is configured.
 */
export function itemSourceOf(ctx: CommandContext, key = ITEM_FOLDER_PREFIX): ItemFolderSource | undefined {
  const owner = ctx.backend.sourceOf(key);
  return isItemFolderSource(owner) ? owner : undefined;
}

/** The folder as a device is told about it. */
export function knownFolder(ctx: CommandContext, folder: BackendFolder): KnownFolder {
  return {
    serverId: ctx.store.folders.serverIdFor(ctx.user, folder.key),
    parentId: folder.parentKey === null ? "0" : ctx.store.folders.serverIdFor(ctx.user, folder.parentKey),
    displayName: folder.displayName,
    type: folder.type,
  };
}

/** Text of a FolderHierarchy child. */
export function field(body: WbxmlElement, name: string): string | undefined {
  return childText(body, name, NS);
}

/** A ServerId element for a response. */
export function serverIdElement(serverId: string): WbxmlElement {
  return textEl(NS, "ServerId", serverId);
}
