/**
 * The backend's MailSubmitter over SMTP submission: the user's own credentials, the configured
 * submission URL, SMTP errors mapped to the failures EAS statuses are chosen from.
 *
 * @module
 */

import {
  type Envelope,
  type MailSubmitter,
  SubmissionError,
  type SubmissionProgress,
  type SubmissionReceipt,
} from "../../backend/submission.ts";
import type { Credentials } from "../../backend/types.ts";
import {
  SmtpAuthError,
  SmtpConnectionError,
  SmtpError,
  SmtpMessageTooLargeError,
  SmtpRecipientError,
  SmtpTemporaryError,
  SmtpUnconfirmedError,
} from "./errors.ts";
import { submitMessage } from "./smtp_client.ts";

/** Where and how to submit. */
export interface SmtpSubmitterOptions {
  /** `smtp://host:port` or `smtps://host:port` (PUSHBRIDGE_SMTP_URL). */
  url: string;
  /** Extra trusted CA certificates in PEM. */
  caCerts?: string[];
  timeoutMs?: number;
}

/** RFC 3463 section 3.3: X.2.2 is "mailbox full"; the quota failure EAS reports separately. */
function isQuota(error: SmtpError): boolean {
  return /^[45]\.2\.2$/.test(error.enhanced ?? "");
}

/** Maps an error of `submitMessage` (or anything else thrown) to a SubmissionError. */
export function toSubmissionError(error: unknown): SubmissionError {
  if (error instanceof SubmissionError) return error;
  if (!(error instanceof SmtpError)) {
    return new SubmissionError(
      "temporary",
      error instanceof Error ? error.message : String(error),
      [],
      error,
    );
  }
  if (error instanceof SmtpUnconfirmedError) {
    return new SubmissionError("unconfirmed", error.message, [], error);
  }
  if (error instanceof SmtpAuthError) return new SubmissionError("auth", error.message, [], error);
  if (error instanceof SmtpRecipientError) {
    return new SubmissionError(
      "recipient-rejected",
      error.message,
      error.rejected.map((entry) => entry.recipient),
      error,
    );
  }
  if (error instanceof SmtpMessageTooLargeError) {
    return new SubmissionError("too-large", error.message, [], error);
  }
  if (isQuota(error)) return new SubmissionError("quota", error.message, [], error);
  if (error instanceof SmtpTemporaryError || error instanceof SmtpConnectionError) {
    return new SubmissionError("temporary", error.message, [], error);
  }
  return new SubmissionError("rejected", error.message, [], error);
}

/** MailSubmitter that submits over SMTP with the phone user's credentials. */
export class SmtpSubmitter implements MailSubmitter {
  constructor(readonly options: SmtpSubmitterOptions) {}

  /** Submits the message; throws SubmissionError with the failure kind when the server refuses. */
  async submit(
    credentials: Credentials,
    envelope: Envelope,
    message: Uint8Array,
    progress: SubmissionProgress = {},
  ): Promise<SubmissionReceipt> {
    try {
      const result = await submitMessage({
        url: this.options.url,
        ...(this.options.caCerts ? { tls: { caCerts: this.options.caCerts } } : {}),
        ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
        user: credentials.user,
        password: credentials.password,
        from: envelope.from,
        recipients: [...envelope.recipients],
        message,
        ...(progress.dataEnd ? { onDataEnd: () => progress.dataEnd!() } : {}),
        ...(progress.dataWritten ? { onDataWritten: () => progress.dataWritten!() } : {}),
        ...(progress.accepted ? { onAccepted: (r) => progress.accepted!({ response: r.response }) } : {}),
      });
      return { response: result.response };
    } catch (error) {
      throw toSubmissionError(error);
    }
  }
}
