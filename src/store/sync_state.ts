import type { Database } from "./database.ts";

/** The latest generation of one collection's sync state on one device. */
export interface CollectionState {
  /** Random per partnership of the collection: keys of an earlier SyncKey 0 never match. */
  epoch: string;
  generation: number;
  /** The backend's folder cursor at this generation ("" when unknown). */
  cursor: string;
  /** Changes were left for the next request (MoreAvailable), so the next scan is a full one. */
  pending: boolean;
  /** The last Options the device sent for the collection (JSON, sticky between requests). */
  options: string;
  /** What the response of this generation carried, for a replay (JSON). */
  replay: string;
}

/** One item as the device holds it: id, change token, date; never content. */
export interface ItemRecord {
  id: string;
  token: string;
  /** Milliseconds since the epoch (DateReceived for mail), for the FilterType window. */
  date: number;
  /** The item failed to convert at this token; it is not retried until it changes. */
  failed: boolean;
}

/** Everything one step of a collection writes, applied in one transaction. */
export interface CollectionCommit {
  state: CollectionState;
  upserts: ItemRecord[];
  removes: string[];
  clientIds: { clientId: string; itemId: string }[];
  /** Drop every item first (SyncKey 0, UIDVALIDITY change). */
  resetItems?: boolean;
}

/** ClientId maps kept per collection; Adds retried later than this are rare. */
const CLIENT_ID_KEEP = 500;

/** Sync state of collections per device (migration 002). */
export class SyncStateRepository {
  constructor(private readonly db: Database) {}

  /** The latest state of a collection on a device, or undefined when it never synced. */
  collection(device: number, collection: string): CollectionState | undefined {
    const row = this.db.get<
      { epoch: string; generation: number; cursor: string; pending: number; options: string; replay: string }
    >(
      "SELECT epoch, generation, cursor, pending, options, replay FROM sync_collections WHERE device = ? AND collection = ?",
      device,
      collection,
    );
    if (!row) return undefined;
    return { ...row, pending: row.pending === 1 };
  }

  /** The items a device holds in a collection, by id. */
  items(device: number, collection: string): Map<string, ItemRecord> {
    const map = new Map<string, ItemRecord>();
    for (
      const row of this.db.iterate<{ item_id: string; token: string; date: number; failed: number }>(
        "SELECT item_id, token, date, failed FROM sync_items WHERE device = ? AND collection = ?",
        device,
        collection,
      )
    ) {
      map.set(row.item_id, { id: row.item_id, token: row.token, date: row.date, failed: row.failed === 1 });
    }
    return map;
  }

  /** The item an earlier Add with this ClientId created, if any. */
  itemForClientId(device: number, collection: string, clientId: string): string | undefined {
    return this.db.get<{ item_id: string }>(
      "SELECT item_id FROM sync_client_ids WHERE device = ? AND collection = ? AND client_id = ?",
      device,
      collection,
      clientId,
    )?.item_id;
  }

  /** Applies one step: state, items and ClientId maps land together or not at all. */
  commit(device: number, collection: string, change: CollectionCommit, now = Date.now()): void {
    this.db.transaction(() => {
      if (change.resetItems) {
        this.db.run("DELETE FROM sync_items WHERE device = ? AND collection = ?", device, collection);
        this.db.run("DELETE FROM sync_client_ids WHERE device = ? AND collection = ?", device, collection);
      }
      const s = change.state;
      this.db.run(
        `INSERT INTO sync_collections (device, collection, epoch, generation, cursor, pending, options, replay, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (device, collection) DO UPDATE SET epoch = excluded.epoch, generation = excluded.generation,
           cursor = excluded.cursor, pending = excluded.pending, options = excluded.options,
           replay = excluded.replay, updated = excluded.updated`,
        device,
        collection,
        s.epoch,
        s.generation,
        s.cursor,
        s.pending ? 1 : 0,
        s.options,
        s.replay,
        now,
      );
      for (const item of change.upserts) {
        this.db.run(
          `INSERT INTO sync_items (device, collection, item_id, token, date, failed) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (device, collection, item_id) DO UPDATE SET token = excluded.token, date = excluded.date,
             failed = excluded.failed`,
          device,
          collection,
          item.id,
          item.token,
          item.date,
          item.failed ? 1 : 0,
        );
      }
      for (const id of change.removes) {
        this.db.run(
          "DELETE FROM sync_items WHERE device = ? AND collection = ? AND item_id = ?",
          device,
          collection,
          id,
        );
      }
      for (const { clientId, itemId } of change.clientIds) {
        this.db.run(
          `INSERT OR REPLACE INTO sync_client_ids (device, collection, client_id, item_id, created) VALUES (?, ?, ?, ?, ?)`,
          device,
          collection,
          clientId,
          itemId,
          now,
        );
      }
      if (change.clientIds.length) {
        this.db.run(
          `DELETE FROM sync_client_ids WHERE device = ? AND collection = ? AND client_id NOT IN (
             SELECT client_id FROM sync_client_ids WHERE device = ? AND collection = ? ORDER BY created DESC LIMIT ?)`,
          device,
          collection,
          device,
          collection,
          CLIENT_ID_KEEP,
        );
      }
    });
  }

  /**
   * Records that the device itself moved an item (MoveItems): it left the
   * source collection and the device holds it under its new id in the
   * destination, with the same flags and date. Without this the next Sync
   * would send the device a Delete it already did and an Add of a message it
   * already has. Collections the device never synced are left alone.
   */
  itemMoved(
    device: number,
    from: { collection: string; id: string },
    to: { collection: string; id: string },
  ): void {
    this.db.transaction(() => {
      const row = this.db.get<{ token: string; date: number }>(
        "SELECT token, date FROM sync_items WHERE device = ? AND collection = ? AND item_id = ?",
        device,
        from.collection,
        from.id,
      );
      this.db.run(
        "DELETE FROM sync_items WHERE device = ? AND collection = ? AND item_id = ?",
        device,
        from.collection,
        from.id,
      );
      if (!row || !this.collection(device, to.collection)) return;
      this.db.run(
        `INSERT OR REPLACE INTO sync_items (device, collection, item_id, token, date, failed) VALUES (?, ?, ?, ?, ?, 0)`,
        device,
        to.collection,
        to.id,
        row.token,
        row.date,
      );
    });
  }

  /** Forgets a collection on a device (the folder was deleted, or the device starts over). */
  forget(device: number, collection: string): void {
    this.db.transaction(() => {
      for (const table of ["sync_items", "sync_client_ids", "sync_collections"]) {
        this.db.run(`DELETE FROM ${table} WHERE device = ? AND collection = ?`, device, collection);
      }
    });
  }
}
