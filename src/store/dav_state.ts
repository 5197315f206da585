import type { Database } from "./database.ts";

/** One item of a DAV collection as last seen. */
export interface DavItem {
  /** Short numeric id (the item part of the phone's ServerId). */
  id: string;
  href: string;
  uid: string;
  etag: string;
  /** Milliseconds; the end of the last occurrence for events (FilterType window). */
  date: number;
  /** A completed task (FilterType 8 shows incomplete tasks only). */
  complete: boolean;
}

/** A collection's change cursors. */
export interface DavCursor {
  syncToken: string;
  ctag: string;
}

interface ItemRow {
  id: number;
  href: string;
  uid: string;
  etag: string;
  date: number;
  complete: number;
}

/** CalDAV/CardDAV cursors and item ids per user and collection (migration 004). */
export class DavStateRepository {
  constructor(private readonly db: Database) {}

  /** The stored cursors of a collection, or undefined before the first listing. */
  cursor(user: string, collection: string): DavCursor | undefined {
    const row = this.db.get<{ sync_token: string; ctag: string }>(
      "SELECT sync_token, ctag FROM dav_collections WHERE user = ? AND collection = ?",
      user,
      collection,
    );
    return row ? { syncToken: row.sync_token, ctag: row.ctag } : undefined;
  }

  /** Every item of a collection. */
  items(user: string, collection: string): DavItem[] {
    return this.db.all<ItemRow>(
      "SELECT id, href, uid, etag, date, complete FROM dav_items WHERE user = ? AND collection = ? ORDER BY id",
      user,
      collection,
    ).map(toItem);
  }

  /** One item by id, only within the user's collection (a crafted id of another user finds nothing). */
  item(user: string, collection: string, id: string): DavItem | undefined {
    if (!/^\d{1,15}$/.test(id)) return undefined;
    const row = this.db.get<ItemRow>(
      "SELECT id, href, uid, etag, date, complete FROM dav_items WHERE user = ? AND collection = ? AND id = ?",
      user,
      collection,
      Number(id),
    );
    return row ? toItem(row) : undefined;
  }

  /**
   * Applies a listing in one transaction: upserts (keyed by href; an href
   * that reappears under a new name with the UID of a removed one keeps its
   * id, so a renamed resource is not a new item on the phone), removals and
   * the new cursors. Returns the ids of the upserted items by href.
   */
  apply(
    user: string,
    collection: string,
    change: {
      upserts: Omit<DavItem, "id">[];
      removedHrefs: string[];
      cursor?: DavCursor;
    },
  ): Map<string, string> {
    const ids = new Map<string, string>();
    this.db.transaction(() => {
      const removed = new Map<string, number>();
      for (const href of change.removedHrefs) {
        const row = this.db.get<{ id: number; uid: string }>(
          "SELECT id, uid FROM dav_items WHERE user = ? AND collection = ? AND href = ?",
          user,
          collection,
          href,
        );
        if (!row) continue;
        if (row.uid) removed.set(row.uid, row.id);
        this.db.run("DELETE FROM dav_items WHERE id = ?", row.id);
      }
      for (const item of change.upserts) {
        const existing = this.db.get<{ id: number }>(
          "SELECT id FROM dav_items WHERE user = ? AND collection = ? AND href = ?",
          user,
          collection,
          item.href,
        );
        if (existing) {
          this.db.run(
            "UPDATE dav_items SET uid = ?, etag = ?, date = ?, complete = ? WHERE id = ?",
            item.uid,
            item.etag,
            item.date,
            item.complete ? 1 : 0,
            existing.id,
          );
          ids.set(item.href, String(existing.id));
          continue;
        }
        const reuse = item.uid ? removed.get(item.uid) : undefined;
        const id = reuse !== undefined
          ? this.db.insert(
            "INSERT INTO dav_items (id, user, collection, href, uid, etag, date, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            reuse,
            user,
            collection,
            item.href,
            item.uid,
            item.etag,
            item.date,
            item.complete ? 1 : 0,
          )
          : this.db.insert(
            "INSERT INTO dav_items (user, collection, href, uid, etag, date, complete) VALUES (?, ?, ?, ?, ?, ?, ?)",
            user,
            collection,
            item.href,
            item.uid,
            item.etag,
            item.date,
            item.complete ? 1 : 0,
          );
        ids.set(item.href, String(id));
      }
      if (change.cursor) {
        this.db.run(
          `INSERT INTO dav_collections (user, collection, sync_token, ctag, updated) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (user, collection) DO UPDATE SET sync_token = excluded.sync_token, ctag = excluded.ctag,
           updated = excluded.updated`,
          user,
          collection,
          change.cursor.syncToken,
          change.cursor.ctag,
          Date.now(),
        );
      }
    });
    return ids;
  }

  /** Forgets a collection (deleted on the server or by FolderDelete). */
  forget(user: string, collection: string): void {
    this.db.transaction(() => {
      this.db.run("DELETE FROM dav_items WHERE user = ? AND collection = ?", user, collection);
      this.db.run("DELETE FROM dav_collections WHERE user = ? AND collection = ?", user, collection);
    });
  }
}

function toItem(row: ItemRow): DavItem {
  return {
    id: String(row.id),
    href: row.href,
    uid: row.uid,
    etag: row.etag,
    date: row.date,
    complete: row.complete === 1,
  };
}
