/** Typed settings, defaults, environment overrides and validation. */
export * from "./settings.ts";
export * from "./limits.ts";
