import type { Migration } from "./mod.ts";

/** Policies per scope, provisioning state per device, remote wipes, access rules, device events. */
export const migration: Migration = {
  version: 3,
  name: "provisioning",
  sql: `
-- One row per setting a scope overrides ("box", "domain:D", "user:U", "device:U/D");
-- a missing row inherits from the wider scope (MS-ASPROV element names as keys).
CREATE TABLE policies (
  scope TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) STRICT;

-- The two-step handshake per partnership: temporary key and the policy sent
-- with it, then the final key and what the phone acknowledged.
CREATE TABLE device_provisioning (
  device INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  temp_key TEXT NOT NULL DEFAULT '',
  sent_policy TEXT NOT NULL DEFAULT '',
  policy_type TEXT NOT NULL DEFAULT '',
  policy_key TEXT NOT NULL DEFAULT '',
  applied_policy TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT 'pending',
  issued INTEGER NOT NULL DEFAULT 0,
  acknowledged INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Remote wipes by user and DeviceId (not by partnership row): a wipe stays
-- active across re-pairing until an admin cancels it.
CREATE TABLE device_wipes (
  user TEXT NOT NULL,
  device_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  state TEXT NOT NULL,
  requested INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,
  answered INTEGER NOT NULL DEFAULT 0,
  notice TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (user, device_id)
) STRICT;

-- Allow / block / quarantine rules: match is 'default', 'user', 'device' (user + DeviceId),
-- 'device-type' or 'model'.
CREATE TABLE access_rules (
  id INTEGER PRIMARY KEY,
  match TEXT NOT NULL,
  user TEXT NOT NULL DEFAULT '',
  value TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  created INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (match, user, value)
) STRICT;

-- The access state last seen for a device (written only when it changes) and
-- whether the quarantine notice went out.
CREATE TABLE device_access (
  device INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  since INTEGER NOT NULL,
  notice TEXT NOT NULL DEFAULT ''
) STRICT;

-- Changes a running server must push into held Pings (wipes, policy changes made
-- by the CLI in another process); polled by id, pruned after a day.
CREATE TABLE device_events (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  user TEXT NOT NULL DEFAULT '',
  device_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL
) STRICT;
`,
};
