/**
 * Named SMTP failures with the server's reply code, so the EAS SendMail handler can map them to
 * ComposeMail statuses (ARCHITECTURE style rule 4).
 *
 * @module
 */

/** A server reply: the three-digit code, the RFC 3463 enhanced status code when given, the text. */
export interface SmtpReply {
  code: number;
  enhanced?: string;
  /** Reply lines without code and separator, joined with "\n". */
  text: string;
}

/** Any submission failure; `code` is the SMTP reply code when the server gave one. */
export class SmtpError extends Error {
  readonly code: number | undefined;
  readonly enhanced: string | undefined;

  constructor(message: string, readonly reply?: SmtpReply, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmtpError";
    this.code = reply?.code;
    this.enhanced = reply?.enhanced;
  }
}

/** The server refused the credentials (535, 534, 538) or offers no mechanism we speak. */
export class SmtpAuthError extends SmtpError {
  constructor(message: string, reply?: SmtpReply) {
    super(message, reply);
    this.name = "SmtpAuthError";
  }
}

/** One recipient the server refused at RCPT TO. */
export interface RejectedRecipient {
  recipient: string;
  code: number;
  enhanced?: string;
  text: string;
}

/** The server refused one or more recipients permanently; nothing was sent. */
export class SmtpRecipientError extends SmtpError {
  constructor(message: string, readonly rejected: readonly RejectedRecipient[]) {
    const first = rejected[0];
    super(
      message,
      first
        ? { code: first.code, text: first.text, ...(first.enhanced ? { enhanced: first.enhanced } : {}) }
        : undefined,
    );
    this.name = "SmtpRecipientError";
  }
}

/** The message exceeds the server's SIZE limit (RFC 1870) or the server answered 552. */
export class SmtpMessageTooLargeError extends SmtpError {
  constructor(message: string, readonly limit?: number, reply?: SmtpReply) {
    super(message, reply);
    this.name = "SmtpMessageTooLargeError";
  }
}

/** A 4xx reply: the server asks to try again later; nothing was sent. */
export class SmtpTemporaryError extends SmtpError {
  constructor(message: string, reply?: SmtpReply) {
    super(message, reply);
    this.name = "SmtpTemporaryError";
  }
}

/** The connection failed, broke, timed out, or the server spoke something other than SMTP. */
export class SmtpConnectionError extends SmtpError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, undefined, options);
    this.name = "SmtpConnectionError";
  }
}

/**
 * The connection failed after the end of the message data was written and before the server's
 * reply to it: the server may or may not have accepted the message (RFC 5321 section 6.1, the
 * synchronization gap of RFC 1047). Unlike every other failure this one does not mean "nothing
 * was sent".
 */
export class SmtpUnconfirmedError extends SmtpConnectionError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SmtpUnconfirmedError";
  }
}
