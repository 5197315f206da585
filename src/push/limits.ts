/**
 * Limits of Direct Push (ARCHITECTURE style rule 7), each with its reason.
 * The heartbeat bounds are defaults; the composition root may lower the
 * maximum for sites whose firewall cuts idle connections earlier.
 */
export const PUSH_LIMITS = {
  /** Shortest HeartbeatInterval accepted, in seconds (MS-ASCMD 2.2.3.79.1; Exchange 2007+ default). */
  heartbeatMinSeconds: 60,
  /** Longest HeartbeatInterval accepted, in seconds (MS-ASCMD 2.2.3.79.1; Exchange 2007+ default). */
  heartbeatMaxSeconds: 3540,
  /**
   * A held Ping is answered this many seconds before its heartbeat ends, so a
   * NAT or proxy whose idle timeout equals the heartbeat never cuts it first.
   */
  answerEarlySeconds: 5,
  /** Folders one Ping may watch (MS-ASCMD 2.2.3.100 MaxFolders, sent with Ping Status 6). */
  pingMaxFolders: 300,
  /** Devices whose last Ping parameters are remembered for the empty Ping body (memory bound). */
  rememberedDevices: 100_000,
  /** Granularity of the shared deadline wheel: one timer for all held requests, not one each. */
  tickMs: 1000,
  /** A user's watcher stays open this long after the last held request ends (the phone re-Pings right after a Sync). */
  watcherLingerMs: 2 * 60 * 1000,
  /** Interval of STATUS polling of non-INBOX folders when the IMAP server lacks NOTIFY. */
  imapStatusPollMs: 15 * 1000,
  /** IDLE is restarted this often: RFC 2177 says servers may drop an IDLE after 30 minutes. */
  imapIdleRestartMs: 25 * 60 * 1000,
  /** First reconnect delay of a watcher whose mailstore went away; doubled up to the maximum. */
  reconnectMinMs: 1000,
  /** Longest reconnect delay: short enough that phones hear of mail soon after the mailstore returns. */
  reconnectMaxMs: 60 * 1000,
  /** Poll interval of CalDAV/CardDAV collections (sync-token or getctag), shared per collection. */
  davPollMs: 30 * 1000,
  /** Window in which a device's Ping/hanging-Sync requests are counted for storm detection. */
  stormWindowMs: 60 * 1000,
  /**
   * More requests than this in one window and the device is slowed: its
   * answers are held at least `stormHoldMs` (normal phones Ping, Sync, Ping:
   * a few requests per new message, far below this).
   */
  stormSlowAfter: 30,
  /** How long a slowed device's requests are held before any answer (changes included). */
  stormHoldMs: 20 * 1000,
  /**
   * More requests than this in one window and the device gets HTTP 503 with
   * X-MS-ASThrottle (MS-ASHTTP 2.2.2.1.2.13) and Retry-After until the window ends.
   */
  stormThrottleAfter: 90,
  /** Devices tracked by the storm detector at once (memory bound; the oldest are forgotten). */
  stormTrackedDevices: 100_000,
  /** Minutes of push latency kept for the status page's chart (one fixed bucket each). */
  latencyMinutes: 60,
} as const;

/** Heartbeat bounds in effect (defaults from {@link PUSH_LIMITS}, maximum lowered by the admin). */
export interface HeartbeatBounds {
  minSeconds: number;
  maxSeconds: number;
}

/**
 * The bounds to use, given an admin maximum (a firewall idle timeout): the
 * maximum is clamped into the protocol's range and never below the minimum.
 */
export function heartbeatBounds(adminMaxSeconds?: number): HeartbeatBounds {
  const min = PUSH_LIMITS.heartbeatMinSeconds;
  if (adminMaxSeconds === undefined) return { minSeconds: min, maxSeconds: PUSH_LIMITS.heartbeatMaxSeconds };
  if (!Number.isInteger(adminMaxSeconds) || adminMaxSeconds < min) {
    throw new RangeError(`Heartbeat maximum '${adminMaxSeconds}' is not a whole number of seconds >= ${min}`);
  }
  return { minSeconds: min, maxSeconds: Math.min(adminMaxSeconds, PUSH_LIMITS.heartbeatMaxSeconds) };
}

/**
 * How long a request with this heartbeat is actually held: a few seconds
 * less than asked, so the answer beats any idle timeout equal to it.
 */
export function holdMsFor(heartbeatSeconds: number): number {
  const early = Math.min(PUSH_LIMITS.answerEarlySeconds, Math.floor(heartbeatSeconds / 10));
  return (heartbeatSeconds - early) * 1000;
}
