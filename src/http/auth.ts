import type { CredentialChecker, Credentials } from "../backend/types.ts";
import { LIMITS } from "../config/limits.ts";

/** Outcome of checking an Authorization header. */
export type AuthResult =
  | { kind: "ok"; credentials: Credentials; user: string }
  | { kind: "missing" }
  | { kind: "denied" }
  | { kind: "unavailable" };

/**
 * Basic authentication (MS-ASHTTP 2.2.1.1.2.1) verified against the mailstore.
 * The box stores no passwords: a successful check is remembered in memory for
 * a few minutes as a salted hash, so a phone's every request does not cost an
 * IMAP LOGIN.
 */
export class Authenticator {
  readonly #check: CredentialChecker;
  readonly #cache = new Map<string, { digest: string; expires: number }>();
  readonly #salt = crypto.getRandomValues(new Uint8Array(16));
  readonly #now: () => number;

  constructor(check: CredentialChecker, now: () => number = Date.now) {
    this.#check = check;
    this.#now = now;
  }

  /** Checks the header; never throws for bad input. */
  async authenticate(header: string | null): Promise<AuthResult> {
    const parsed = parseBasicAuth(header);
    if (!parsed) return { kind: "missing" };
    const user = normalizeUserName(parsed.user);
    if (!user || !parsed.password) return { kind: "denied" };
    const credentials = { user, password: parsed.password };
    const digest = await this.#digest(credentials);
    const cached = this.#cache.get(user);
    if (cached && cached.digest === digest && cached.expires > this.#now()) {
      return { kind: "ok", credentials, user };
    }
    const result = await this.#check(credentials);
    if (result !== "ok") {
      if (result === "denied") this.#cache.delete(user);
      return { kind: result };
    }
    if (this.#cache.size >= LIMITS.authCacheEntries) this.#evictOldest();
    this.#cache.delete(user);
    this.#cache.set(user, { digest, expires: this.#now() + LIMITS.authCacheMs });
    return { kind: "ok", credentials, user };
  }

  /** Forgets a user's cached login (password changed, user blocked). */
  forget(user: string): void {
    this.#cache.delete(normalizeUserName(user));
  }

  async #digest(credentials: Credentials): Promise<string> {
    const data = new TextEncoder().encode(`${credentials.user}\0${credentials.password}`);
    const salted = new Uint8Array(this.#salt.length + data.length);
    salted.set(this.#salt);
    salted.set(data, this.#salt.length);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", salted));
    return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  #evictOldest(): void {
    const first = this.#cache.keys().next();
    if (!first.done) this.#cache.delete(first.value);
  }
}

/** Splits a Basic Authorization header into user and password, or undefined when it is not one. */
export function parseBasicAuth(header: string | null): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  let decoded: string;
  try {
    const binary = atob(match[1]);
    decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The login name for the mailstore: "DOMAIN\user" becomes "user" (Windows
 * clients and Outlook send the NT form); "user" and "user@domain" are used as
 * given, lower-cased, so one person is one state key on every device.
 */
export function normalizeUserName(raw: string): string {
  const backslash = raw.lastIndexOf("\\");
  const name = backslash >= 0 ? raw.slice(backslash + 1) : raw;
  return name.trim().toLowerCase();
}
