import type { Migration } from "./mod.ts";

/** Device information reported by Settings (MS-ASCMD 2.2.3.51) and recoverable device passwords (2.2.3.52). */
export const migration: Migration = {
  version: 6,
  name: "settings_search",
  sql: `
-- What a phone says about itself in Settings DeviceInformation; shown in the devices list.
CREATE TABLE device_information (
  device INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  model TEXT NOT NULL DEFAULT '',
  imei TEXT NOT NULL DEFAULT '',
  friendly_name TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '',
  os_language TEXT NOT NULL DEFAULT '',
  phone_number TEXT NOT NULL DEFAULT '',
  user_agent TEXT NOT NULL DEFAULT '',
  enable_outbound_sms INTEGER NOT NULL DEFAULT 0,
  mobile_operator TEXT NOT NULL DEFAULT '',
  updated INTEGER NOT NULL
) STRICT;

-- Settings DevicePassword, kept only when the policy allows recovery; AES-GCM sealed, never in clear.
CREATE TABLE device_passwords (
  device INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  sealed TEXT NOT NULL,
  updated INTEGER NOT NULL
) STRICT;
`,
};
