import type { ProvisioningHooks } from "../eas/commands/provision.ts";
import type { Logger } from "../log/logger.ts";
import type { Store } from "../store/mod.ts";
import type { Notifier } from "./notifier.ts";
import { effectivePolicy } from "./policy_resolver.ts";

/**
 * The Provision command's hooks: the effective policy from the store, and on
 * a phone's wipe answer an audit entry plus the confirmation email to user
 * and admin (its outcome is kept with the wipe for the devices list).
 */
export function createProvisioningHooks(
  deps: { store: Store; notifier: Notifier; log?: Logger; now?: () => number },
): ProvisioningHooks {
  return {
    policyFor: (user, deviceId) => effectivePolicy(deps.store, user, deviceId),
    wipeAnswered(user, deviceId, kind, succeeded) {
      const what = kind === "account" ? "account-only wipe" : "remote wipe";
      deps.store.audit.add({
        actor: "device",
        user,
        deviceId,
        action: kind === "account" ? "wipe-account-answer" : "wipe-answer",
        result: succeeded ? "confirmed" : "failed",
        detail: "",
      });
      const subject = succeeded
        ? `Remote wipe confirmed: device ${deviceId} of ${user}`
        : `Remote wipe failed: device ${deviceId} of ${user}`;
      const text =
        `The device '${deviceId}' of '${user}' ${
          succeeded ? "confirmed" : "reported a failure of"
        } the ${what} at ${new Date(deps.now?.() ?? Date.now()).toISOString()}.\r\n\r\n` +
        "The wipe stays active for this device until an administrator cancels it " +
        "(pushbridge admin wipe-cancel).\r\n";
      deps.notifier.notify(user, subject, text)
        .then((notice) => deps.store.deviceManagement.setWipeNotice(user, deviceId, notice))
        .catch((error) =>
          deps.log?.warn("admin.wipe_notice_failed", { user, deviceId, error: String(error) })
        );
    },
    ...(deps.now ? { now: deps.now } : {}),
  };
}
