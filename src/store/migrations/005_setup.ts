import type { Migration } from "./mod.ts";

/** Setup page: the admin password hash and per-device protocol traces. */
export const migration: Migration = {
  version: 5,
  name: "setup",
  sql: `
-- The setup page's one admin account: a PBKDF2-SHA256 hash with its per-install salt, never the password.
CREATE TABLE admin_credentials (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  hash TEXT NOT NULL,
  salt TEXT NOT NULL,
  iterations INTEGER NOT NULL,
  updated INTEGER NOT NULL
) STRICT;

-- Devices whose requests are traced, and until when (tracing is switched on for a while, never forever).
CREATE TABLE trace_devices (
  device INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  until INTEGER NOT NULL
) STRICT;

-- Redacted request/response pairs of traced devices, decoded to XML.
CREATE TABLE trace_entries (
  id INTEGER PRIMARY KEY,
  device INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  at INTEGER NOT NULL,
  command TEXT NOT NULL,
  query TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  ms INTEGER NOT NULL,
  request TEXT NOT NULL,
  response TEXT NOT NULL
) STRICT;
CREATE INDEX trace_entries_device ON trace_entries (device, id);
`,
};
