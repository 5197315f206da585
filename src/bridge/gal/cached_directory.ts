/**
 * A GAL over a loader that returns the whole directory: the entries are kept
 * in memory for a short TTL and searched there, so a 5,000-entry directory
 * answers in milliseconds. A load never serves data older than `maxAgeMs`.
 *
 * @module
 */

import type { GalDirectory, GalEntry } from "../../eas/commands/search.ts";

/** How long a loaded directory is reused, and the age it may never exceed. */
export interface GalCacheOptions {
  /** Reuse a load for this long (default 60 s). */
  ttlMs?: number;
  /** Hard upper bound on a served load's age, also when reloading fails (default 5 min). */
  maxAgeMs?: number;
  now?: () => number;
}

interface Indexed {
  entry: GalEntry;
  /** Lower-cased names and addresses joined, for substring matching. */
  haystack: string;
  addresses: string[];
}

/** A searchable, cached directory over a full-list loader. */
export class CachedGalDirectory implements GalDirectory {
  readonly #load: () => Promise<GalEntry[]>;
  readonly #ttlMs: number;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  #cache: { at: number; entries: Indexed[] } | undefined;
  #loading: Promise<Indexed[]> | undefined;

  constructor(load: () => Promise<GalEntry[]>, options: GalCacheOptions = {}) {
    this.#load = load;
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#maxAgeMs = Math.max(options.maxAgeMs ?? 300_000, this.#ttlMs);
    this.#now = options.now ?? Date.now;
  }

  /** Entries whose display name, first/last name, alias or an address contains `query`, by display name. */
  async search(query: string, limit: number): Promise<GalEntry[]> {
    const needle = query.trim().toLowerCase();
    if (!needle) return [];
    const entries = await this.#entries();
    const out: GalEntry[] = [];
    for (const item of entries) {
      if (item.haystack.includes(needle)) out.push(item.entry);
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The entry owning exactly this address. */
  async lookup(address: string): Promise<GalEntry | undefined> {
    const wanted = address.trim().toLowerCase();
    return (await this.#entries()).find((item) => item.addresses.includes(wanted))?.entry;
  }

  async #entries(): Promise<Indexed[]> {
    const now = this.#now();
    if (this.#cache && now - this.#cache.at < this.#ttlMs) return this.#cache.entries;
    this.#loading ??= this.#load().then((entries) => index(entries)).finally(() => {
      this.#loading = undefined;
    });
    try {
      const entries = await this.#loading;
      this.#cache = { at: this.#now(), entries };
      return entries;
    } catch (error) {
      // A failed reload may fall back to the last load only while it is younger than maxAgeMs.
      if (this.#cache && now - this.#cache.at < this.#maxAgeMs) return this.#cache.entries;
      this.#cache = undefined;
      throw error;
    }
  }
}

function index(entries: GalEntry[]): Indexed[] {
  return entries
    .filter((entry) => entry.email)
    .sort((a, b) => a.displayName.localeCompare(b.displayName))
    .map((entry) => {
      const addresses = [entry.email, ...(entry.aliases ?? [])].map((a) => a.toLowerCase());
      const names = [entry.displayName, entry.firstName, entry.lastName, entry.alias].filter(Boolean);
      return { entry, addresses, haystack: [...names, ...addresses].join("\n").toLowerCase() };
    });
}
