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
   * An attempt that will never finish: started long ago, claimed by an earlier run of the box
   * (it crashed or was killed mid-send), or given up on without an answer, so the phone's retry
   * right after a restart need not wait SUBMITTING_STALE_MS. `dataSent`: the end of the message
   * was about to be written, so the SMTP server may have accepted it; otherwise it certainly did
   * not. `dataWritten`: the end of the message had been written, so the server has it.
   */
  | { kind: "stale"; messageId: string; dataSent: boolean; dataWritten: boolean };

/** The steps of one send, in order (migration 008). */
export type SendState = "submitting" | "data-sent" | "data-written" | "sent";

interface Row {
  mime_digest: string;
  message_id: string;
  state: SendState;
  updated: number;
}

/**
 * Dedup records of submitted mail (ARCHITECTURE: "SendMail deduplicated by
 * ClientId"). A send first claims its key as "submitting", marks it
 * "data-sent" right before the end of the message goes to the SMTP server and
 * "sent" in the turn its acceptance is read, or releases it when the
 * submission failed, so a retry after a failure sends and a retry after
 * success does not; a record a crash left behind says how far it got.
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
      // Take the stale record over so a third concurrent retry sees it in flight. Its state stays:
      // "data-sent" keeps saying that an earlier attempt may have been accepted.
      this.db.run(
        "UPDATE sent_mail SET updated = ? WHERE user = ? AND dedup_key = ?",
        now,
        user,
        dedupKey,
      );
      return {
        kind: "stale",
        messageId: row.message_id,
        dataSent: row.state === "data-sent" || row.state === "data-written",
        dataWritten: row.state === "data-written",
      } as const;
    });
  }

  /**
   * Records that the end of the message is about to be written: from now on the server may
   * accept it, and a crash leaves the answer unknown (RFC 5321 6.1).
   */
  markDataSent(user: string, dedupKey: string, now = Date.now()): void {
    this.db.run(
      "UPDATE sent_mail SET state = 'data-sent', updated = ? WHERE user = ? AND dedup_key = ? AND state <> 'sent'",
      now,
      user,
      dedupKey,
    );
  }

  /**
   * Records that the end of the message was written to the connection: the server has the
   * whole transaction and processes it even if the box dies now (RFC 5321 4.1.1.4).
   */
  markDataWritten(user: string, dedupKey: string, now = Date.now()): void {
    this.db.run(
      "UPDATE sent_mail SET state = 'data-written', updated = ? WHERE user = ? AND dedup_key = ? AND state <> 'sent'",
      now,
      user,
      dedupKey,
    );
  }

  /**
   * Leaves an attempt whose outcome is unknown (the connection broke after the end of the data)
   * for the phone's retry to decide: the record stays "data-sent" and is stale at once.
   */
  abandon(user: string, dedupKey: string): void {
    this.#mine.delete(`${user}\0${dedupKey}`);
    // A connection that broke while the box lived may have lost the end of the data on the way
    // (a cut link, a proxy): only the Sent folder can prove it arrived.
    this.db.run(
      "UPDATE sent_mail SET state = 'data-sent' WHERE user = ? AND dedup_key = ? AND state = 'data-written'",
      user,
      dedupKey,
    );
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

  /**
   * Forgets a claim whose submission failed (nothing was sent: refused, or broken before the end
   * of the data), so the phone's retry sends.
   */
  release(user: string, dedupKey: string): void {
    this.#mine.delete(`${user}\0${dedupKey}`);
    this.db.run(
      "DELETE FROM sent_mail WHERE user = ? AND dedup_key = ? AND state <> 'sent'",
      user,
      dedupKey,
    );
  }

  /** The state of a key, for tests and diagnostics. */
  stateOf(user: string, dedupKey: string): SendState | undefined {
    return this.db.get<{ state: SendState }>(
      "SELECT state FROM sent_mail WHERE user = ? AND dedup_key = ?",
      user,
      dedupKey,
    )?.state;
  }
}
