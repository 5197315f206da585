/**
 * Limits of the SMTP submission client (ARCHITECTURE style rule 7), each with its reason.
 *
 * @module
 */
export const SMTP_LIMITS = {
  /** Default wait for any one server reply; RFC 5321 section 4.5.3.2 allows minutes, but a phone's SendMail request would time out first. */
  replyTimeoutMs: 60_000,
  /** Longest reply line we buffer: RFC 5321 section 4.5.3.1.5 says 512 octets, servers with long texts exceed it a little; a server that sends endless bytes must not grow memory. */
  maxReplyLineBytes: 8192,
  /** Lines of one multi-line reply (EHLO lists a few dozen extensions at most). */
  maxReplyLines: 500,
  /** Bytes written to the socket per DATA chunk: large enough for throughput, small enough not to copy a whole attachment again. */
  dataChunkBytes: 64 * 1024,
} as const;
