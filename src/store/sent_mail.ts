import type { Database } from "./database.ts";

/** How long a "submitting" record blocks a retry before the retry investigates (MS-ASCMD retries come within seconds). */
export const SUBMITTING_STALE_MS = 60_000;

/** How long a sent record is kept: phones retry an unanswered send for hours at most, never for a month. */
export const SENT_RECORD_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** What a send attempt found when it tried to claim its dedup key. */
export type SendClaim =
  /** No earlier attempt: this one owns the key and must submit. */
  | { kind: "claimed" }
  /** Already submitted; `sameMessage` tells a lost-response retry from a reused ClientId. */
  | { kind: "sent"; sameMessage: boolean; messageId: string }
  /** Another attempt is submitting right now (less than SUBMITTING_STALE_MS ago). */
  | { kind: "in-flight" }
  /**
   * An attempt that will never finish: started long ago, or claimed by an earlier run of the
   * box (it crashed or was killed mid-send), so the phone's retry right after a restart need not
   * wait SUBMITTING_STALE_MS.
   */
  | { kind: "stale"; messageId: string };

interface Row {
  mime_digest: string;
  message_id: string;
  state: "submitting" | "sent";
  updated: number;
}

/**
 * Dedup records of submitted mail (ARCHITECTURE: "SendMail deduplicated by
 * ClientId"). A send first claims its key as "submitting", then marks it
 * "sent" right after the SMTP server accepted the message, or releases it when
 * the submission failed, so a retry after a failure sends and a retry after
 * success does not.
 */
export class SentMailRepository {
  /** Keys this process claimed and has not finished: any other "submitting" row belongs to a dead process. */
  readonly #mine = new Set<string>();

  constructor(private readonly db: Database) {}

  /**
   * Claims `dedupKey` for a new attempt, or reports the earlier attempt's state.
   * Runs in one transaction so two concurrent retries cannot both claim.
   */
  claim(
    user: string,
    dedupKey: string,
    mimeDigest: string,
    messageId: string,
    now = Date.now(),
  ): SendClaim {
    return this.db.transaction(() => {
      this.db.run(
        "DELETE FROM sent_mail WHERE state = 'sent' AND updated < ?",
        now - SENT_RECORD_TTL_MS,
      );
      const row = this.db.get<Row>(
        "SELECT mime_digest, message_id, state, updated FROM sent_mail WHERE user = ? AND dedup_key = ?",
        user,
        dedupKey,
      );
      if (!row) {
        this.db.run(
          `INSERT INTO sent_mail (user, dedup_key, mime_digest, message_id, state, created, updated)
           VALUES (?, ?, ?, ?, 'submitting', ?, ?)`,
          user,
          dedupKey,
          mimeDigest,
          messageId,
          now,
          now,
        );
        this.#mine.add(`${user}\0${dedupKey}`);
        return { kind: "claimed" } as const;
      }
      if (row.state === "sent") {
        return {
          kind: "sent",
          sameMessage: row.mime_digest === mimeDigest,
          messageId: row.message_id,
        } as const;
      }
      const key = `${user}\0${dedupKey}`;
      if (this.#mine.has(key) && now - row.updated < SUBMITTING_STALE_MS) {
        return { kind: "in-flight" } as const;
      }
      this.#mine.add(key);
      // Take the stale record over so a third concurrent retry sees it in flight.
      this.db.run(
        "UPDATE sent_mail SET updated = ? WHERE user = ? AND dedup_key = ?",
        now,
        user,
        dedupKey,
      );
      return { kind: "stale", messageId: row.message_id } as const;
    });
  }

  /** Records that the SMTP server accepted the message. */
  markSent(user: string, dedupKey: string, now = Date.now()): void {
    this.#mine.delete(`${user}\0${dedupKey}`);
    this.db.run(
      "UPDATE sent_mail SET state = 'sent', updated = ? WHERE user = ? AND dedup_key = ?",
      now,
      user,
      dedupKey,
    );
  }

  /** Forgets a claim whose submission failed (nothing was sent), so the phone's retry sends. */
  release(user: string, dedupKey: string): void {
    this.#mine.delete(`${user}\0${dedupKey}`);
    this.db.run(
      "DELETE FROM sent_mail WHERE user = ? AND dedup_key = ? AND state = 'submitting'",
      user,
      dedupKey,
    );
  }

  /** The state of a key, for tests and diagnostics. */
  stateOf(user: string, dedupKey: string): "submitting" | "sent" | undefined {
    return this.db.get<{ state: "submitting" | "sent" }>(
      "SELECT state FROM sent_mail WHERE user = ? AND dedup_key = ?",
      user,
      dedupKey,
    )?.state;
  }
}
