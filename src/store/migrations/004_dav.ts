import type { Migration } from "./mod.ts";

/**
 * CalDAV/CardDAV state per user: each collection's change cursor (RFC 6578
 * sync-token, else getctag) and the items seen in it, with the short numeric
 * item id phones see (ServerId "<folder>:<id>"), the href, UID, ETag and the
 * date the FilterType window uses. It is a cache of the server: dropping it
 * costs one full listing, never data.
 */
export const migration: Migration = {
  version: 4,
  name: "calendar and contacts",
  sql: `
CREATE TABLE dav_collections (
  user TEXT NOT NULL,
  collection TEXT NOT NULL,
  sync_token TEXT NOT NULL DEFAULT '',
  ctag TEXT NOT NULL DEFAULT '',
  updated INTEGER NOT NULL,
  PRIMARY KEY (user, collection)
) STRICT;

CREATE TABLE dav_items (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user TEXT NOT NULL,
  collection TEXT NOT NULL,
  href TEXT NOT NULL,
  uid TEXT NOT NULL DEFAULT '',
  etag TEXT NOT NULL DEFAULT '',
  date INTEGER NOT NULL DEFAULT 0,
  complete INTEGER NOT NULL DEFAULT 0,
  UNIQUE (user, collection, href)
) STRICT;

CREATE INDEX dav_items_uid ON dav_items (user, uid);
`,
};
