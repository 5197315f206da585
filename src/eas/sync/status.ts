/** Sync statuses (MS-ASCMD 2.2.3.177.17). */
export const SYNC_STATUS = {
  Success: 1,
  InvalidSyncKey: 3,
  ProtocolError: 4,
  ServerError: 5,
  ConversionError: 6,
  Conflict: 7,
  ObjectNotFound: 8,
  CannotComplete: 9,
  FolderHierarchyChanged: 12,
  IncompleteRequest: 13,
  InvalidWaitOrHeartbeat: 14,
  TooManyCollections: 15,
  Retry: 16,
} as const;

/** FilterType values (MS-ASCMD 2.2.3.71.1) and the window each one means, in days (0 = no limit). */
export const FILTER_DAYS: Readonly<Record<number, number>> = {
  0: 0,
  1: 1,
  2: 3,
  3: 7,
  4: 14,
  5: 31,
  6: 92,
  7: 183,
};

/** Start of the FilterType window at `now`, or undefined for "all" (and for values that do not limit mail). */
export function filterCutoff(filterType: number, now: number): Date | undefined {
  const days = FILTER_DAYS[filterType] ?? 0;
  return days > 0 ? new Date(now - days * 86_400_000) : undefined;
}

/** Conflict resolution (MS-ASCMD 2.2.3.34): 0 client wins, 1 server wins (the default). */
export const CONFLICT = { ClientWins: 0, ServerWins: 1 } as const;
