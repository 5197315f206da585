import type { Migration } from "./mod.ts";

/** Settings, devices, short folder ids, FolderSync state, audit log. */
export const migration: Migration = {
  version: 1,
  name: "foundation",
  sql: `
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- One row per (user, DeviceId): the partnership of MS-ASCMD.
CREATE TABLE devices (
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL,
  device_id TEXT NOT NULL,
  device_type TEXT NOT NULL,
  user_agent TEXT NOT NULL DEFAULT '',
  protocol_version TEXT NOT NULL DEFAULT '',
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  UNIQUE (user, device_id)
) STRICT;

-- Short stable ServerIds for folders, per user, shared by all of the user's devices.
CREATE TABLE folder_ids (
  user TEXT NOT NULL,
  backend_key TEXT NOT NULL,
  server_id TEXT NOT NULL,
  PRIMARY KEY (user, backend_key),
  UNIQUE (user, server_id)
) STRICT;

-- FolderSync state per device: the folder list the device holds at each SyncKey.
-- The last two generations are kept so a resent key replays (MS-ASCMD 3.1.5.9 analogue for FolderSync).
CREATE TABLE folder_sync_state (
  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  sync_key INTEGER NOT NULL,
  folders TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (device, sync_key)
) STRICT;

CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  user TEXT NOT NULL DEFAULT '',
  device_id TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  result TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
) STRICT;
`,
};
