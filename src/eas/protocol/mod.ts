/** Spec constants and request-line parsing of EAS (MS-ASHTTP, MS-ASCMD). */
export * from "./commands.ts";
export * from "./errors.ts";
export * from "./folder_types.ts";
export * from "./query.ts";
export * from "./status.ts";
export * from "./versions.ts";
