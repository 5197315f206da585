/**
 * Device, policy, wipe, access and audit operations shared by the setup page
 * and the admin CLI, and the server-side pieces that apply them (event poller,
 * Provision hooks, notices).
 */
export * from "./access.ts";
export * from "./cli.ts";
export * from "./device_admin.ts";
export * from "./events.ts";
export * from "./notifier.ts";
export * from "./policy_resolver.ts";
export * from "./provisioning_hooks.ts";
