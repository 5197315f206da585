/**
 * SyncKeys are "{epoch}{generation}": a random epoch chosen at SyncKey 0 and
 * a counter. Keys from an earlier partnership of the collection (the device
 * was removed, or sent SyncKey 0 again) never match the current epoch, so they
 * get Status 3 instead of a wrong diff. At most 64 characters (MS-ASCMD 2.2.3.166.4).
 */

/** A fresh epoch: 16 hex digits in braces, e.g. "{3f2a...}". */
export function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return `{${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}}`;
}

/** The key of a generation. */
export function formatSyncKey(epoch: string, generation: number): string {
  return `${epoch}${generation}`;
}

/** The generation a key names within `epoch`, or undefined when it belongs to another epoch or is malformed. */
export function generationOf(key: string, epoch: string): number | undefined {
  if (!key.startsWith(epoch)) return undefined;
  const rest = key.slice(epoch.length);
  return /^[1-9]\d{0,9}$/.test(rest) ? Number(rest) : undefined;
}
