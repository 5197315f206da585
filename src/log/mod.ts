/** Structured logging with redaction. */
export * from "./logger.ts";
