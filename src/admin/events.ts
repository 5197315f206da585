import type { Logger } from "../log/logger.ts";
import type { DeviceEvent, Store } from "../store/mod.ts";

/** How often a running server looks for changes made by the CLI in another process. */
export const EVENT_POLL_MS = 2_000;

/** What the poller needs. */
export interface DeviceEventPollerOptions {
  store: Store;
  /** Ends held requests (push hub's kick): a user's, or one device's. */
  kick: (user: string, deviceId?: string) => number;
  intervalMs?: number;
  log?: Logger;
}

/**
 * Delivers wipes, policy and access changes into held Pings. Changes made in
 * this process arrive through deliver() at once; changes the CLI makes in
 * another process on the same data dir are found by polling the newest
 * device_events id every two seconds: one indexed read, no write, so the
 * Ping path stays write-free.
 */
export class DeviceEventPoller {
  #lastId: number;
  readonly #delivered = new Set<number>();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly options: DeviceEventPollerOptions) {
    this.#lastId = options.store.deviceManagement.lastEventId();
  }

  /** Starts polling. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      try {
        this.poll();
      } catch (error) {
        this.options.log?.warn("admin.event_poll_failed", { error: String(error) });
      }
    }, this.options.intervalMs ?? EVENT_POLL_MS);
  }

  /** Stops polling. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A change made in this process: kick now, and skip it when the poll sees it. */
  deliver(event: Pick<DeviceEvent, "id" | "user" | "deviceId">): void {
    this.#delivered.add(event.id);
    this.#kick(event);
  }

  /** Looks for new events and kicks their devices; returns how many were new. */
  poll(): number {
    const management = this.options.store.deviceManagement;
    if (management.lastEventId() <= this.#lastId) return 0;
    const events = management.eventsAfter(this.#lastId);
    for (const event of events) {
      this.#lastId = Math.max(this.#lastId, event.id);
      if (this.#delivered.delete(event.id)) continue;
      this.#kick(event);
    }
    for (const id of this.#delivered) if (id <= this.#lastId) this.#delivered.delete(id);
    return events.length;
  }

  #kick(event: Pick<DeviceEvent, "user" | "deviceId">): void {
    if (event.user === "") {
      const users = new Set(this.options.store.devices.list().map((d) => d.user));
      for (const user of users) this.options.kick(user);
    } else {
      this.options.kick(event.user, event.deviceId === "" ? undefined : event.deviceId);
    }
  }
}
