/**
 * Provisioning core (MS-ASPROV), pure: the policy element table with range
 * checks, scope inheritance, and the policy documents sent to phones.
 */
export * from "./policy_elements.ts";
export * from "./scopes.ts";
export * from "./documents.ts";
export * from "./statuses.ts";
export * from "./enforcement.ts";
