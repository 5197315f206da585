import type { Migration } from "./mod.ts";

/**
 * SendMail / SmartReply / SmartForward deduplication: one row per message the
 * box submitted or is submitting, keyed by a digest of the ClientId (14.0+,
 * per device) or of the MIME Message-ID (12.1 and earlier, per user).
 */
export const migration: Migration = {
  version: 7,
  name: "send_dedup",
  sql: `
CREATE TABLE sent_mail (
  user TEXT NOT NULL,
  -- SHA-256 hex of "client:<DeviceId>:<ClientId>" or "mid:<Message-ID>".
  dedup_key TEXT NOT NULL,
  -- SHA-256 hex of the MIME the phone sent, to tell a retry from a reused ClientId.
  mime_digest TEXT NOT NULL,
  -- The Message-ID the submitted message carries (looked up in Sent after a crash).
  message_id TEXT NOT NULL,
  -- 'submitting' from before the SMTP transaction until it ended; 'sent' after the server accepted.
  state TEXT NOT NULL CHECK (state IN ('submitting', 'sent')),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (user, dedup_key)
) STRICT;
CREATE INDEX sent_mail_updated ON sent_mail (updated);
`,
};
