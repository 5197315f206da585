import type { Database } from "./database.ts";

/** A folder as one device was told about it in a FolderSync. */
export interface KnownFolder {
  serverId: string;
  parentId: string;
  displayName: string;
  type: number;
}

/**
 * Short stable folder ServerIds per user, and the FolderSync state of each
 * device (the folder list it holds at each SyncKey, last two generations).
 */
export class FolderRepository {
  constructor(private readonly db: Database) {}

  /**
   * The ServerId of a backend folder key, allocating the next short number on
   * first sight. Ids are per user (shared by the user's devices) and never reused.
   */
  serverIdFor(user: string, backendKey: string): string {
    const existing = this.db.get<{ server_id: string }>(
      "SELECT server_id FROM folder_ids WHERE user = ? AND backend_key = ?",
      user,
      backendKey,
    );
    if (existing) return existing.server_id;
    return this.db.transaction(() => {
      const max = this.db.get<{ n: number | null }>(
        "SELECT MAX(CAST(server_id AS INTEGER)) AS n FROM folder_ids WHERE user = ?",
        user,
      );
      const serverId = String((max?.n ?? 0) + 1);
      this.db.run(
        "INSERT INTO folder_ids (user, backend_key, server_id) VALUES (?, ?, ?)",
        user,
        backendKey,
        serverId,
      );
      return serverId;
    });
  }

  /** Existing ServerId of a backend key, without allocating. */
  findServerId(user: string, backendKey: string): string | undefined {
    return this.db.get<{ server_id: string }>(
      "SELECT server_id FROM folder_ids WHERE user = ? AND backend_key = ?",
      user,
      backendKey,
    )?.server_id;
  }

  /** The backend key behind a ServerId of this user (undefined for another user's id). */
  backendKeyOf(user: string, serverId: string): string | undefined {
    return this.db.get<{ backend_key: string }>(
      "SELECT backend_key FROM folder_ids WHERE user = ? AND server_id = ?",
      user,
      serverId,
    )?.backend_key;
  }

  /** Moves a ServerId to a new backend key (a rename keeps the folder's id on the phone). */
  rekey(user: string, oldKey: string, newKey: string): void {
    this.db.transaction(() => {
      // A folder deleted earlier under the new name still owns an id: retire that
      // mapping (the id stays allocated, never reused) so the renamed folder takes the name.
      this.db.run(
        "UPDATE folder_ids SET backend_key = 'retired:' || server_id || ':' || backend_key WHERE user = ? AND backend_key = ?",
        user,
        newKey,
      );
      this.db.run(
        "UPDATE folder_ids SET backend_key = ? WHERE user = ? AND backend_key = ?",
        newKey,
        user,
        oldKey,
      );
    });
  }

  /** The folder list a device holds at a SyncKey, or undefined when that key is unknown. */
  folderState(device: number, syncKey: number): KnownFolder[] | undefined {
    const row = this.db.get<{ folders: string }>(
      "SELECT folders FROM folder_sync_state WHERE device = ? AND sync_key = ?",
      device,
      syncKey,
    );
    return row ? JSON.parse(row.folders) as KnownFolder[] : undefined;
  }

  /** The newest SyncKey of a device's folder hierarchy (0 when it never synced). */
  latestFolderKey(device: number): number {
    return this.db.get<{ k: number | null }>(
      "SELECT MAX(sync_key) AS k FROM folder_sync_state WHERE device = ?",
      device,
    )?.k ?? 0;
  }

  /**
   * Stores the folder list for a new SyncKey and drops generations older than
   * the previous one, in one transaction.
   */
  saveFolderState(device: number, syncKey: number, folders: KnownFolder[], now = Date.now()): void {
    this.db.transaction(() => {
      this.db.run(
        `INSERT INTO folder_sync_state (device, sync_key, folders, created) VALUES (?, ?, ?, ?)
         ON CONFLICT (device, sync_key) DO UPDATE SET folders = excluded.folders, created = excluded.created`,
        device,
        syncKey,
        JSON.stringify(folders),
        now,
      );
      this.db.run("DELETE FROM folder_sync_state WHERE device = ? AND sync_key < ?", device, syncKey - 1);
    });
  }

  /** Forgets a device's folder hierarchy (FolderSync with SyncKey 0 starts over). */
  resetFolderState(device: number): void {
    this.db.run("DELETE FROM folder_sync_state WHERE device = ?", device);
  }
}
