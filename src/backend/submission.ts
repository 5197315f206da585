import type { Credentials } from "./types.ts";

/** Why a submission failed, in the terms EAS statuses need (MS-ASCMD 2.2.2 common statuses 111..122). */
export type SubmissionFailure =
  /** The server refused one or more recipients (5xx to RCPT TO): Status 116. */
  | "recipient-rejected"
  /** The message exceeds the server's SIZE limit (552 / 5.3.4): Status 122. */
  | "too-large"
  /** Mailbox or sending quota exceeded (5.2.2 / 4.2.2 / 5.7.x rate limits): Status 113/115. */
  | "quota"
  /** A 4xx reply or a dropped or refused connection: nothing was sent, retry later (Status 111). */
  | "temporary"
  /** The server refused the user's credentials: Status 120 (the phone's password still opened IMAP). */
  | "auth"
  /** Any other permanent refusal: Status 120. */
  | "rejected"
  /**
   * The connection broke after the end of the message and before the server's reply: it may
   * have been accepted (RFC 5321 6.1). Status 111; the phone's retry decides by evidence.
   */
  | "unconfirmed";

/**
 * A submission the server did not accept. Nothing was sent when this is
 * thrown (a recipient rejection aborts the whole transaction), so a retry
 * may submit again; except "unconfirmed", where nobody knows.
 */
export class SubmissionError extends Error {
  constructor(
    readonly failure: SubmissionFailure,
    message: string,
    /** The recipients the server refused, for "recipient-rejected". */
    readonly rejected: readonly string[] = [],
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = "SubmissionError";
  }
}

/** The SMTP envelope of one submission (RFC 5321 MAIL FROM / RCPT TO). */
export interface Envelope {
  from: string;
  recipients: readonly string[];
}

/** What the server said when it accepted a message. */
export interface SubmissionReceipt {
  /** The final reply text (often carries the queue id), for logs. */
  response: string;
}

/**
 * Where a submission is, told synchronously as it happens, so the caller can
 * record it before anything else runs (SendMail deduplication: a crash must
 * leave a record that says how far the message got).
 */
export interface SubmissionProgress {
  /** The end of the message is about to be written: from then on the server may accept it. */
  dataEnd?(): void;
  /**
   * The end of the message was handed to the connection: the server gets it
   * even if this process dies now (the kernel sends what was written), and
   * then processes the message as the client that stays silent (RFC 5321
   * 4.1.1.4); only its reply is unknown.
   */
  dataWritten?(): void;
  /** The server accepted the message (its final 250 was just read). */
  accepted?(receipt: SubmissionReceipt): void;
}

/**
 * Mail submission with the user's own credentials (RFC 6409): the box never
 * relays as itself, so the mailstore's sender checks, quotas and logs apply
 * to the user exactly as from a desktop client.
 */
export interface MailSubmitter {
  /**
   * Submits `message` (bytes as transmitted: Bcc already removed) to
   * `envelope.recipients`. Resolves once the server accepted the DATA;
   * throws SubmissionError when it refused, BackendUnavailableError-like
   * conditions are reported as failure "temporary".
   */
  submit(
    credentials: Credentials,
    envelope: Envelope,
    message: Uint8Array,
    progress?: SubmissionProgress,
  ): Promise<SubmissionReceipt>;
}
