/** The sync engine: SyncKey generations, diff, windows, replay of lost responses, loop detection. */
export * from "./engine.ts";
export * from "./limits.ts";
export * from "./request_cache.ts";
export * from "./status.ts";
export * from "./sync_key.ts";
export * from "./types.ts";
export * from "./mail_refs.ts";
export * from "./mail_source.ts";
export * from "./options.ts";
