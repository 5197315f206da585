import type { PasswordRecovery } from "../eas/commands/settings.ts";
import type { Store } from "../store/mod.ts";
import { effectivePolicy } from "./policy_resolver.ts";

/**
 * Settings DevicePassword (MS-ASCMD 2.2.3.43): a phone may leave its recovery
 * password with the box only when its effective policy has
 * PasswordRecoveryEnabled = 1. The password is sealed with AES-GCM under a key
 * kept in the data dir (mode 0600), created on first use, so the database alone
 * (e.g. a downloaded backup) does not reveal it.
 */
export async function passwordRecovery(store: Store, dataDir: string): Promise<PasswordRecovery> {
  const keyFile = `${dataDir}/recovery.key`;
  let raw: Uint8Array;
  try {
    raw = await Deno.readFile(keyFile);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    raw = crypto.getRandomValues(new Uint8Array(32));
    await Deno.writeFile(keyFile, raw, { mode: 0o600, createNew: true });
  }
  if (raw.length !== 32) throw new Error(`Recovery key file '${keyFile}' is not 32 bytes long`);
  const key = await crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
  return {
    key,
    allowed: (user, deviceId) => effectivePolicy(store, user, deviceId).values.PasswordRecoveryEnabled === 1,
  };
}
