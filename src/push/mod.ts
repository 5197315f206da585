/**
 * Direct Push: the change hub that holds Pings and hanging Syncs, the watcher
 * interface bridges implement, the storm guard, the push latency recorder
 * and the limits.
 *
 * @module
 */
export * from "./hub.ts";
export * from "./limits.ts";
export * from "./polling_watcher.ts";
export * from "./push_context.ts";
export * from "./push_latency.ts";
export * from "./storm_guard.ts";
export * from "./watcher.ts";
