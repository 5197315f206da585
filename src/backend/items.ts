/**
 * The interface of a folder source whose folders hold calendar, contact,
 * task or note items (the CalDAV/CardDAV bridge). Commands reach the bridge
 * only through it (ARCHITECTURE: commands never import bridges).
 */
import type { ModelObject } from "../eas/model/streamer.ts";
import type { SyncSource } from "../eas/sync/types.ts";
import type { BodyPreference } from "./mail.ts";
import type { FolderSource } from "./types.ts";

/** The key prefix of calendar, contacts, tasks and notes folders ("dav:<collection>#<component>"). */
export const ITEM_FOLDER_PREFIX = "dav:";

/** The item class of a non-mail folder (MS-ASCMD 2.2.3.27 Class). */
export type ItemClass = "Calendar" | "Contacts" | "Tasks" | "Notes";

/** How a folder's items are written for the device. */
export interface ItemSyncOptions {
  bodyPreferences: readonly BodyPreference[];
  /** FilterType; 8 on a Tasks folder means incomplete tasks only (MS-ASCMD 2.2.3.71.1). */
  filterType: number;
}

/** A source of calendar, contacts, tasks and notes folders with their folder operations. */
export interface ItemFolderSource extends FolderSource {
  readonly kind: "dav";
  /** The class of one of this source's folders, or undefined for a key it does not own. */
  folderClassOf(key: string): ItemClass | undefined;
  /** The sync engine's view of one folder. */
  syncSource(folderKey: string, options: ItemSyncOptions): SyncSource<ModelObject>;
  /** FolderCreate: resolves to the new folder's key. */
  createFolder(type: number, name: string): Promise<string>;
  /** FolderUpdate (a rename; these folders have no parents). */
  renameFolder(key: string, name: string): Promise<void>;
  /** FolderDelete: resolves to every folder key removed with it. */
  deleteFolder(key: string): Promise<string[]>;
}

/** Whether a folder source serves calendar, contacts, tasks and notes folders. */
export function isItemFolderSource(source: FolderSource | undefined): source is ItemFolderSource {
  return !!source && (source as Partial<ItemFolderSource>).kind === "dav" &&
    typeof (source as Partial<ItemFolderSource>).syncSource === "function";
}
