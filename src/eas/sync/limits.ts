/** Limits of the sync engine, each with its reason. */
export const SYNC_LIMITS = {
  /** WindowSize when the device sends none (MS-ASCMD 2.2.3.199: the default is 100). */
  defaultWindowSize: 100,
  /** Largest WindowSize honoured (MS-ASCMD 2.2.3.199: 512 is the maximum). */
  maxWindowSize: 512,
  /** Window when whole MIME messages are asked for: a response holds every message whole, so keep it few. */
  wholeMimeWindowSize: 25,
  /** Collections in one Sync request; more gets Status 15 (keeps one request bounded). */
  maxCollections: 100,
  /** Hanging Sync bounds (MS-ASCMD 2.2.3.197 Wait 1..59 minutes, 2.2.3.90 HeartbeatInterval 60..3540 s). */
  minHeartbeatSeconds: 60,
  maxHeartbeatSeconds: 3540,
  /** Devices whose last Sync request is cached for empty and partial requests (bounded memory). */
  requestCacheDevices: 5000,
  /** Pending initial-sync plans kept in memory (ids and change tokens of one folder each, never content). */
  pendingPlans: 200,
  /** A hanging Sync without a push hub looks at its folders this often (one STATUS per folder). */
  pollMs: 60_000,
} as const;
