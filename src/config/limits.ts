/**
 * Limits of the HTTP front door and the EAS layer (ARCHITECTURE style rule 7),
 * each with its reason.
 */
export const LIMITS = {
  /** Largest EAS request body; a phone's SendMail with attachments is the largest (Exchange's default is 10 MB of MIME, base64 inflates by a third). */
  maxRequestBytes: 16 * 1024 * 1024,
  /** How long a verified password is trusted before the mailstore is asked again; short so a changed password locks out a stolen phone soon. */
  authCacheMs: 5 * 60 * 1000,
  /** Entries in the credential cache; bounded so a credential-stuffing run cannot grow memory. */
  authCacheEntries: 20_000,
  /** Ping heartbeat bounds in seconds (MS-ASCMD 2.2.3.79.1; Exchange 2007+ defaults). */
  heartbeatMinSeconds: 60,
  heartbeatMaxSeconds: 3540,
  /** Folders one Ping may watch (MS-ASCMD Ping Status 6 names the limit). */
  pingMaxFolders: 300,
  /**
   * Every request body gets this long before the minimum rate applies; Deno.serve has no body
   * timeout of its own, so without it a client sending one byte per second holds a request forever.
   */
  bodyGraceMs: 30_000,
  /** Slowest accepted body upload after the grace period (EDGE uplinks manage ~20 KB/s). */
  bodyMinBytesPerSecond: 8 * 1024,
  /**
   * Request header bytes and fields an EAS request may carry (phones send about 1 KB in 10 fields).
   * Deno.serve itself refuses more than about 64 KB of headers or 100 fields with a 400 before
   * any handler runs, and has no header timeout: see tools/reliability/RESULTS.md.
   */
  maxHeaderBytes: 16 * 1024,
  maxHeaderFields: 64,
  /** Longest request line (method, target, version): EAS query strings are a few hundred bytes; 414 above. */
  maxRequestLineBytes: 8 * 1024,
  /**
   * A request head must arrive whole within this, from the connection's start or a keep-alive
   * request's first byte (slowloris, answered 408); phones send the head in one packet.
   */
  headerTimeoutMs: 20_000,
  /**
   * A keep-alive connection may wait this long for its next request: phones send the next Ping
   * at once after an answer, and reconnect cheaply otherwise; idle connections are closed after.
   */
  idleTimeoutMs: 120_000,
  /**
   * Connections open at once from one client address (loopback exempt: a local reverse proxy or the
   * load tools). An office behind one NAT address with a hundred phones, each holding a Ping and a
   * few parallel requests, stays well below; one host opening connections to exhaust descriptors does
   * not. It is also the only bound on clients that never finish their TLS handshake: Deno 2.9 cannot
   * close a TLS connection mid-handshake (src/http/http1_server.ts), so there is no handshake timeout.
   */
  maxConnectionsPerIp: 512,
  /**
   * Requests one device may have in flight (a held Ping or Sync, plus ItemOperations, SendMail,
   * a Sync of another account's folder); more means a looping client, answered 503 + Retry-After.
   */
  maxRequestsPerDevice: 6,
  /**
   * Password checks one client address may have waiting on the mailstore at once. Cached logins
   * pass without one, so an office behind NAT is not limited; a login flood is.
   */
  maxAuthChecksPerIp: 64,
  /** Retry-After seconds of a 503 for a limit above. */
  busyRetryAfterSeconds: 5,
  /** Largest Sync WindowSize a client may ask for (MS-ASCMD 2.2.3.199: 512 is the protocol maximum). */
  syncMaxWindowSize: 512,
} as const;
