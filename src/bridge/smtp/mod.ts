/**
 * SMTP submission bridge: the client (`submitMessage`), its named errors, and the backend's
 * MailSubmitter over it. MIME building for replies, forwards and iMIP lives in src/mime.
 *
 * @module
 */

export {
  type RejectedRecipient,
  SmtpAuthError,
  SmtpConnectionError,
  SmtpError,
  SmtpMessageTooLargeError,
  SmtpRecipientError,
  type SmtpReply,
  SmtpTemporaryError,
  SmtpUnconfirmedError,
} from "./errors.ts";
export { submitMessage, type SubmitOptions, type SubmitResult } from "./smtp_client.ts";
export { SmtpSubmitter, type SmtpSubmitterOptions, toSubmissionError } from "./smtp_submitter.ts";
export { SMTP_LIMITS } from "./limits.ts";
