import type { Migration } from "./mod.ts";

/**
 * SendMail deduplication records one more step: 'data-sent', written right
 * before the end of the message data goes to the SMTP server. A record left
 * 'submitting' by a crash then proves the server never got the whole message
 * (it cancels an unfinished transaction), so the retry submits at once; only
 * 'data-sent' is the RFC 5321 6.1 gap, decided by the Sent folder. SQLite
 * cannot change a CHECK constraint in place, so the table is rebuilt.
 */
export const migration: Migration = {
  version: 8,
  name: "send_data_end",
  sql: `
CREATE TABLE sent_mail_new (
  user TEXT NOT NULL,
  -- SHA-256 hex of "client:<DeviceId>:<ClientId>", "mid:<Message-ID>" or "mime:<digest>".
  dedup_key TEXT NOT NULL,
  -- SHA-256 hex of the MIME the phone sent, to tell a retry from a reused ClientId.
  mime_digest TEXT NOT NULL,
  -- The Message-ID the submitted message carries (looked up in Sent after a crash).
  message_id TEXT NOT NULL,
  -- 'submitting' from the claim until the end of the data is written; 'data-sent' from then until
  -- the server's reply; 'sent' once the server accepted the message.
  state TEXT NOT NULL CHECK (state IN ('submitting', 'data-sent', 'sent')),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (user, dedup_key)
) STRICT;
-- A 'submitting' record of the earlier schema covered the whole transaction: how far it got is unknown.
INSERT INTO sent_mail_new (user, dedup_key, mime_digest, message_id, state, created, updated)
  SELECT user, dedup_key, mime_digest, message_id,
    CASE state WHEN 'submitting' THEN 'data-sent' ELSE state END, created, updated FROM sent_mail;
DROP TABLE sent_mail;
ALTER TABLE sent_mail_new RENAME TO sent_mail;
CREATE INDEX sent_mail_updated ON sent_mail (updated);
`,
};
