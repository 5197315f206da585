import { FOLDER_TYPE } from "../eas/protocol/folder_types.ts";
import type { BackendFolder, FolderSource } from "./types.ts";

/**
 * Routes folder keys to the bridge that owns them and merges their folder
 * lists. Until a calendar/contacts source is configured, the default
 * Calendar, Contacts, Tasks and Notes folders are kept as empty local
 * folders: phones expect the default folders of every class to exist
 * (MS-ASCMD 2.2.3.186.3; iOS hides the account's calendar switch otherwise).
 */
export class CompositeBackend {
  readonly #sources: FolderSource[];

  constructor(sources: FolderSource[]) {
    this.#sources = sources;
  }

  /** Every folder of every source, with placeholders for classes no source provides. */
  async listFolders(): Promise<BackendFolder[]> {
    const lists = await Promise.all(this.#sources.map((s) => s.listFolders()));
    const folders = lists.flat();
    const present = new Set(folders.map((f) => f.type));
    for (const placeholder of PLACEHOLDER_FOLDERS) {
      if (!present.has(placeholder.type)) folders.push(placeholder);
    }
    return folders;
  }

  /** The source owning a folder key, or undefined. */
  sourceOf(key: string): FolderSource | undefined {
    return this.#sources.find((s) => key.startsWith(s.prefix));
  }
}

/** Default folders of the non-mail classes, shown empty until the DAV bridge provides them. */
export const PLACEHOLDER_FOLDERS: readonly BackendFolder[] = [
  { key: "local:calendar", parentKey: null, displayName: "Calendar", type: FOLDER_TYPE.Calendar },
  { key: "local:contacts", parentKey: null, displayName: "Contacts", type: FOLDER_TYPE.Contacts },
  { key: "local:tasks", parentKey: null, displayName: "Tasks", type: FOLDER_TYPE.Tasks },
  { key: "local:notes", parentKey: null, displayName: "Notes", type: FOLDER_TYPE.Notes },
];
