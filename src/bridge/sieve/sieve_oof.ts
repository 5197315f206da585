/**
 * Out of Office over ManageSieve: reads and writes the managed vacation block
 * of the user's active Sieve script, creating and activating a script of
 * its own only when the user has none active.
 *
 * @module
 */

import {
  OofNotOfferedError,
  type OofSettings,
  type OutOfOfficeService,
} from "../../eas/commands/settings.ts";
import type { Credentials } from "../../backend/types.ts";
import { ManageSieveClient, ManageSieveError, type ManageSieveOptions } from "./managesieve_client.ts";
import { mergeVacation, readVacation, type VacationContext } from "./vacation.ts";

/** Name of the script created when the user has no active one. */
export const MANAGED_SCRIPT = "pushbridge";

/** The Out of Office service of one user. */
export class SieveOutOfOffice implements OutOfOfficeService {
  constructor(
    private readonly options: ManageSieveOptions,
    private readonly credentials: Credentials,
    private readonly context: () => Promise<VacationContext>,
  ) {}

  /** The settings stored in the active script, if any. */
  async get(): Promise<OofSettings | undefined> {
    return await this.#session(async (client) => {
      const active = (await client.listScripts()).find((s) => s.active);
      return active ? readVacation(await client.getScript(active.name)) : undefined;
    });
  }

  /** Writes the settings into the active script (the server compiles it and refuses a broken one). */
  async set(settings: OofSettings): Promise<void> {
    const context = await this.context();
    await this.#session(async (client) => {
      const scripts = await client.listScripts();
      const active = scripts.find((s) => s.active);
      const name = active?.name ?? MANAGED_SCRIPT;
      const existing = active || scripts.some((s) => s.name === name)
        ? await client.getScript(name)
        : undefined;
      await client.putScript(name, mergeVacation(existing, settings, context));
      if (!active) await client.setActive(name);
    });
  }

  async #session<T>(work: (client: ManageSieveClient) => Promise<T>): Promise<T> {
    let client: ManageSieveClient;
    try {
      client = await ManageSieveClient.connect(
        this.options,
        this.credentials.user,
        this.credentials.password,
      );
    } catch (error) {
      if (error instanceof ManageSieveError && /refused/i.test(error.message)) {
        throw new OofNotOfferedError(error.message);
      }
      throw error;
    }
    try {
      return await work(client);
    } finally {
      await client.logout();
    }
  }
}

/**
 * Where ManageSieve is: the stored setting "sieve.url" ("sieve://host:port",
 * "sieve://host:port?tls=off", or "off"), else the IMAP host on the
 * registered port 4190 (RFC 5804 1.8).
 */
export function manageSieveTarget(
  stored: string | undefined,
  imapHost: string | undefined,
): { hostname: string; port: number; tls: "starttls" | "off" } | undefined {
  if (stored === "off") return undefined;
  if (stored) {
    let url: URL;
    try {
      url = new URL(stored);
    } catch {
      throw new Error(`'${stored}' is not a sieve:// URL`);
    }
    if (url.protocol !== "sieve:") throw new Error(`'${stored}' is not a sieve:// URL`);
    return {
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port ? Number(url.port) : 4190,
      tls: url.searchParams.get("tls") === "off" ? "off" : "starttls",
    };
  }
  return imapHost ? { hostname: imapHost, port: 4190, tls: "starttls" } : undefined;
}
