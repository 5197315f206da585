/** Typed EAS objects, their tag tables, and the one streamer that reads and writes them. */
export * from "./airsyncbase.ts";
export * from "./email.ts";
export * from "./schema.ts";
export * from "./streamer.ts";
