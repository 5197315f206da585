/** Provision Status in responses (MS-ASPROV 2.2.2.54.2), plus the common statuses the command uses. */
export const PROVISION_STATUS = {
  Success: 1,
  ProtocolError: 2,
  ServerError: 3,
  /** The device cannot fully apply the policy and the box does not allow that (MS-ASPROV 3.1.5.2). */
  DeviceNotFullyProvisionable: 139,
  /** MS-ASCMD 2.2.2 common status. */
  DeviceIsBlockedForThisUser: 129,
} as const;

/** Policy Status in responses (MS-ASPROV 2.2.2.54.1). */
export const POLICY_STATUS = {
  Success: 1,
  NoPolicy: 2,
  UnknownPolicyType: 3,
  PolicyDataCorrupt: 4,
  WrongPolicyKey: 5,
} as const;

/** Policy Status a client sends when acknowledging (MS-ASPROV 2.2.2.54.1, request). */
export const POLICY_ACK = {
  Applied: "1",
  Partial: "2",
  NotApplied: "3",
  ThirdParty: "4",
} as const;

/** RemoteWipe / AccountOnlyRemoteWipe Status a client sends (MS-ASPROV, Status child of RemoteWipe). */
export const WIPE_ACK = {
  Succeeded: "1",
  Failed: "2",
} as const;

/** How a device stands with the policy it was last given (devices list). */
export type PolicyState = "none" | "pending" | "applied" | "partial" | "not-applied";

/** Remote wipe states: pending -> sent -> confirmed (or failed / not-supported) until cancelled. */
export type WipeState = "pending" | "sent" | "confirmed" | "failed" | "not-supported";

/** Full device wipe, or only the account's data (16.1, MS-ASPROV AccountOnlyRemoteWipe). */
export type WipeKind = "full" | "account";

/** Access decision of Exchange's allow / block / quarantine rules. */
export type AccessState = "allow" | "block" | "quarantine";
