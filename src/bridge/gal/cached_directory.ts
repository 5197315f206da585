/**
 * A GAL over a loader that returns the whole directory: the entries are kept
 * in memory for a short TTL and searched there, so a 5,000-entry directory
 * answers in milliseconds. Past the TTL the copy keeps answering while a
 * reload runs in the background; nothing older than `maxAgeMs` is served.
 *
 * @module
 */

import type { GalDirectory, GalEntry } from "../../eas/commands/search.ts";
import { fitPhotoOffThread } from "../../image/fit_photo_off_thread.ts";

/** How long a loaded directory is reused, and the age it may never exceed. */
export interface GalCacheOptions {
  /** Reuse a load for this long (default 60 s). */
  ttlMs?: number;
  /** Hard upper bound on a served load's age, also when reloading fails or is under way (default 5 min). */
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

  /** The photo resized to at most `maxBytes` in the photo worker (content-cached), or undefined. */
  async fitPicture(picture: Uint8Array, maxBytes: number): Promise<Uint8Array | undefined> {
    const fit = await fitPhotoOffThread(picture, maxBytes);
    return fit.ok ? fit.bytes : undefined;
  }

  async #entries(): Promise<Indexed[]> {
    const now = this.#now();
    const cache = this.#cache;
    if (cache && now - cache.at < this.#ttlMs) return cache.entries;
    const loading = this.#reload();
    if (cache && now - cache.at < this.#maxAgeMs) {
      // Refresh ahead: past its TTL but within maxAge, the copy answers while the reload runs,
      // so only the very first load keeps a phone waiting for the whole directory.
      loading.catch(() => {});
      return cache.entries;
    }
    try {
      return await loading;
    } catch (error) {
      // Nothing older than maxAge is ever served, also when reloading fails.
      if (this.#cache === cache) this.#cache = undefined;
      throw error;
    }
  }

  /** One load at a time; its copy is dated from when it started (the data is at least that old). */
  #reload(): Promise<Indexed[]> {
    if (this.#loading) return this.#loading;
    const started = this.#now();
    this.#loading = this.#load().then((entries) => {
      const indexed = index(entries);
      this.#cache = { at: started, entries: indexed };
      return indexed;
    }).finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
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
