/** Interfaces between EAS commands and the bridges, and the composite that routes between bridges. */
export * from "./types.ts";
export * from "./composite.ts";
