/**
 * Protocol versions (MS-ASHTTP 2.2.1.1.2.4 MS-ASProtocolVersion header).
 * Listed in OPTIONS as MS-ASProtocolVersions (MS-ASHTTP 2.2.2.1.1.1).
 */
export const PROTOCOL_VERSIONS = ["2.5", "12.0", "12.1", "14.0", "14.1", "16.0", "16.1"] as const;

/** One of the versions we speak. */
export type ProtocolVersion = (typeof PROTOCOL_VERSIONS)[number];

/** Whether a header value names a version we speak. */
export function isProtocolVersion(value: string | null | undefined): value is ProtocolVersion {
  return (PROTOCOL_VERSIONS as readonly string[]).includes(value ?? "");
}

/** Numeric form for comparisons ("14.1" -> 14.1). */
export function versionNumber(version: string): number {
  return Number.parseFloat(version);
}

/** True when `version` is at least `minimum` (e.g. atLeast("14.1", "14.0")). */
export function atLeast(version: string, minimum: string): boolean {
  return versionNumber(version) >= versionNumber(minimum);
}
