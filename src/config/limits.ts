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
  /** Largest Sync WindowSize a client may ask for (MS-ASCMD 2.2.3.199: 512 is the protocol maximum). */
  syncMaxWindowSize: 512,
} as const;
