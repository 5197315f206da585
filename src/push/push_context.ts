import type { ChangeHub } from "./hub.ts";
import type { HeartbeatBounds } from "./limits.ts";
import type { StormGuard } from "./storm_guard.ts";
import type { WatchCredentials } from "./watcher.ts";

/** What Ping and hanging Sync need from Direct Push; built once by the composition root. */
export interface PushContext {
  hub: ChangeHub;
  storm: StormGuard;
  heartbeat: HeartbeatBounds;
  /** Clock (tests). */
  now?: () => number;
}

/** Identifies the device a request comes from, for the hub and the storm guard. */
export interface PushRequester {
  user: string;
  deviceId: string;
  credentials: WatchCredentials;
}

/** The storm guard's key of a device. */
export function stormKey(user: string, deviceId: string): string {
  return `${user}\0${deviceId}`;
}

/**
 * The hanging-Sync hook of the command context (MS-ASCMD 2.2.3.197 Wait,
 * 2.2.3.90 HeartbeatInterval): holds the Sync in the hub until one of its
 * folders changes (true) or the time is up (false). A device in a request
 * storm is held at least the storm hold time; a newer request of the device
 * ends the wait at once (false).
 */
export function syncWaiter(
  push: PushContext,
  requester: PushRequester,
): (folderKeys: string[], timeoutMs: number, signal: AbortSignal) => Promise<boolean> {
  return async (folderKeys, timeoutMs, signal) => {
    const now = (push.now ?? Date.now)();
    const verdict = push.storm.note(stormKey(requester.user, requester.deviceId), now);
    const outcome = await push.hub.wait({
      user: requester.user,
      device: requester.deviceId,
      keys: folderKeys,
      timeoutMs,
      credentials: requester.credentials,
      signal,
      ...(verdict === "ok" ? {} : { minHoldMs: Math.min(timeoutMs, push.storm.holdMs) }),
    });
    return outcome.kind === "changed" || outcome.kind === "kicked";
  };
}
