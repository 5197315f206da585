import { SYNC_LIMITS } from "./limits.ts";

/** A collection of a device's last Sync request, with the key the server answered it with. */
export interface CachedCollection<E> {
  collectionId: string;
  /** The newest SyncKey the server gave for it (what the device holds if it got the response). */
  syncKey: string;
  /** The request's collection element (Options, GetChanges, WindowSize ...), for reuse. */
  element: E;
}

/** What a device's previous Sync request was, for empty and partial requests (MS-ASCMD 2.2.3.124 Partial). */
export interface CachedSyncRequest<E> {
  collections: CachedCollection<E>[];
  windowSize?: number;
  /** Hanging Sync: seconds (HeartbeatInterval, or Wait converted to seconds). */
  heartbeatSeconds?: number;
}

/**
 * The previous Sync request per device, in memory: an empty Sync body repeats
 * it, a Partial one is merged into it (MS-ASCMD 3.1.5.3). Bounded, oldest
 * device forgotten first; after a restart the device gets Status 13 and sends
 * a full request.
 */
export class SyncRequestCache<E> {
  readonly #entries = new Map<string, CachedSyncRequest<E>>();

  constructor(readonly capacity: number = SYNC_LIMITS.requestCacheDevices) {}

  /** The cached request of a device (keyed by user and DeviceId). */
  get(device: string): CachedSyncRequest<E> | undefined {
    const entry = this.#entries.get(device);
    if (entry) {
      this.#entries.delete(device);
      this.#entries.set(device, entry);
    }
    return entry;
  }

  /** Remembers a device's request (after it was answered). */
  set(device: string, request: CachedSyncRequest<E>): void {
    this.#entries.delete(device);
    this.#entries.set(device, request);
    while (this.#entries.size > this.capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  /** Forgets a device (removed, or wiped). */
  delete(device: string): void {
    this.#entries.delete(device);
  }
}
