import type { Migration } from "./mod.ts";

/**
 * Sync state per device and collection: the SyncKey generation, the backend
 * cursor, what the latest response carried (for a replay when the phone
 * resends the previous key, MS-ASCMD 3.1.5.9), the items the device holds
 * (ids, change tokens and dates, never bodies), and ClientId -> ServerId maps.
 */
export const migration: Migration = {
  version: 2,
  name: "mail sync state",
  sql: `
CREATE TABLE sync_collections (
  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  collection TEXT NOT NULL,
  epoch TEXT NOT NULL,
  generation INTEGER NOT NULL,
  cursor TEXT NOT NULL DEFAULT '',
  pending INTEGER NOT NULL DEFAULT 0,
  options TEXT NOT NULL DEFAULT '',
  replay TEXT NOT NULL DEFAULT '',
  updated INTEGER NOT NULL,
  PRIMARY KEY (device, collection)
) STRICT;

CREATE TABLE sync_items (
  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  collection TEXT NOT NULL,
  item_id TEXT NOT NULL,
  token TEXT NOT NULL,
  date INTEGER NOT NULL,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device, collection, item_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_client_ids (
  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  collection TEXT NOT NULL,
  client_id TEXT NOT NULL,
  item_id TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (device, collection, client_id)
) STRICT;
`,
};
