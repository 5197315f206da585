/**
 * Limits of the IMAP client (ARCHITECTURE style rule 7), each with its reason.
 */
export const IMAP_LIMITS = {
  /** Longest response line without its literals; a BODYSTRUCTURE of a message with hundreds of parts stays far below, a runaway server does not grow memory without end. */
  maxLineBytes: 4 * 1024 * 1024,
  /** Largest literal buffered in memory; bigger ones must go through fetchBodyStream (Exchange's default message limit is 35 MB, base64 inflates by a third). */
  maxLiteralBytes: 64 * 1024 * 1024,
  /** Bytes asked from the socket per read; large enough to keep syscalls few, small enough to stay lean per connection. */
  readChunkBytes: 64 * 1024,
  /** Fetch rows queued for a slow consumer before the client stops reading the socket (TCP backpressure instead of memory). */
  fetchQueueRows: 64,
  /** Chunks queued in a body stream before the socket is paused. */
  bodyStreamChunks: 8,
  /** Default seconds a command may wait for the server between two reads; mailstores answer within seconds, a stuck socket must not hang a phone's request. */
  commandTimeoutMs: 60_000,
  /** Largest number of UIDs a sequence set expands to; a hostile `1:4294967295` must not allocate gigabytes. */
  maxExpandedSet: 1_000_000,
} as const;
