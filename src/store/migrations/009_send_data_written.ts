import type { Migration } from "./mod.ts";

/**
 * SendMail deduplication records one more step: 'data-written', set once the
 * end of the message data was written to the SMTP connection. From then on
 * the server has the whole transaction even if the box dies (the kernel
 * still sends what was written), and servers process a transaction whose
 * client went silent (RFC 5321 4.1.1.4): a retry that finds 'data-written'
 * treats the message as sent instead of sending it twice. 'data-sent' (the
 * end may not have left the box) still resubmits. SQLite cannot change a
 * CHECK constraint in place, so the table is rebuilt.
 */
export const migration: Migration = {
  version: 9,
  name: "send_data_written",
  sql: `
CREATE TABLE sent_mail_new (
  user TEXT NOT NULL,
  -- SHA-256 hex of "client:<DeviceId>:<ClientId>", "mid:<Message-ID>" or "mime:<digest>".
  dedup_key TEXT NOT NULL,
  -- SHA-256 hex of the MIME the phone sent, to tell a retry from a reused ClientId.
  mime_digest TEXT NOT NULL,
  -- The Message-ID the submitted message carries (looked up in Sent after a crash).
  message_id TEXT NOT NULL,
  -- 'submitting' from the claim until the end of the data is written; 'data-sent' right before the
  -- end of the data is written; 'data-written' once it was; 'sent' once the server accepted it.
  state TEXT NOT NULL CHECK (state IN ('submitting', 'data-sent', 'data-written', 'sent')),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (user, dedup_key)
) STRICT;
INSERT INTO sent_mail_new (user, dedup_key, mime_digest, message_id, state, created, updated)
  SELECT user, dedup_key, mime_digest, message_id, state, created, updated FROM sent_mail;
DROP TABLE sent_mail;
ALTER TABLE sent_mail_new RENAME TO sent_mail;
CREATE INDEX sent_mail_updated ON sent_mail (updated);
`,
};
