import type { CredentialChecker, Credentials } from "../backend/types.ts";
import { LIMITS } from "../config/limits.ts";

/** Outcome of checking an Authorization header. */
export type AuthResult =
  | { kind: "ok"; credentials: Credentials; user: string }
  | { kind: "missing" }
  | { kind: "denied" }
  | { kind: "unavailable" };

/**
 * Brute-force protection: after this many failures within the window a user
 * name (or a client address) is locked out, for a time that doubles with each
 * further failure up to the maximum. While locked, the mailstore is not asked
 * at all, so a password-guessing run cannot use the box to hammer it.
 */
export const LOCKOUT = {
  userFailures: 5,
  ipFailures: 20,
  windowMs: 15 * 60 * 1000,
  firstLockMs: 30 * 1000,
  maxLockMs: 15 * 60 * 1000,
  /** Tracked keys at most; bounded so an attack with random names cannot grow memory. */
  maxTracked: 50_000,
  /** Every refusal takes at least this long, so timing does not tell a locked name from a wrong password. */
  minDenyMs: 200,
} as const;

interface Failures {
  count: number;
  first: number;
  lockedUntil: number;
}

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
  readonly #failures = new Map<string, Failures>();
  readonly #minDenyMs: number;
  /** Password checks waiting on the mailstore per client address (LIMITS.maxAuthChecksPerIp). */
  readonly #checking = new Map<string, number>();
  readonly #maxChecksPerIp: number;

  constructor(
    check: CredentialChecker,
    options: { now?: () => number; minDenyMs?: number; maxChecksPerIp?: number } = {},
  ) {
    this.#check = check;
    this.#now = options.now ?? Date.now;
    this.#minDenyMs = options.minDenyMs ?? LOCKOUT.minDenyMs;
    this.#maxChecksPerIp = options.maxChecksPerIp ?? LIMITS.maxAuthChecksPerIp;
  }

  /** Checks the header; never throws for bad input. `remoteIp` feeds the per-address lockout. */
  async authenticate(header: string | null, remoteIp = ""): Promise<AuthResult> {
    const parsed = parseBasicAuth(header);
    if (!parsed) return { kind: "missing" };
    const started = this.#now();
    const user = normalizeUserName(parsed.user);
    if (!user || !parsed.password) return await this.#deny(started);
    const credentials = { user, password: parsed.password };
    const digest = await this.#digest(credentials);
    const cached = this.#cache.get(user);
    if (cached && cached.digest === digest && cached.expires > this.#now()) {
      return { kind: "ok", credentials, user };
    }
    if (this.#locked(`u:${user}`) || (remoteIp && this.#locked(`ip:${remoteIp}`))) {
      return await this.#deny(started);
    }
    // A flood of parallel logins from one address waits (503 + Retry-After) instead of reaching the mailstore.
    const waiting = remoteIp ? this.#checking.get(remoteIp) ?? 0 : 0;
    if (remoteIp && waiting >= this.#maxChecksPerIp) return { kind: "unavailable" };
    if (remoteIp) this.#checking.set(remoteIp, waiting + 1);
    let result: Awaited<ReturnType<CredentialChecker>>;
    try {
      result = await this.#check(credentials);
    } finally {
      if (remoteIp) {
        const left = (this.#checking.get(remoteIp) ?? 1) - 1;
        if (left <= 0) this.#checking.delete(remoteIp);
        else this.#checking.set(remoteIp, left);
      }
    }
    if (result !== "ok") {
      if (result === "unavailable") return { kind: result };
      this.#cache.delete(user);
      this.#fail(`u:${user}`, LOCKOUT.userFailures);
      if (remoteIp) this.#fail(`ip:${remoteIp}`, LOCKOUT.ipFailures);
      return await this.#deny(started);
    }
    this.#failures.delete(`u:${user}`);
    if (this.#cache.size >= LIMITS.authCacheEntries) this.#evictOldest();
    this.#cache.delete(user);
    this.#cache.set(user, { digest, expires: this.#now() + LIMITS.authCacheMs });
    return { kind: "ok", credentials, user };
  }

  /** Whether a user name is locked out now (for the setup page and tests). */
  isLockedOut(user: string): boolean {
    return this.#locked(`u:${normalizeUserName(user)}`);
  }

  #locked(key: string): boolean {
    const entry = this.#failures.get(key);
    return entry !== undefined && entry.lockedUntil > this.#now();
  }

  #fail(key: string, threshold: number): void {
    const now = this.#now();
    let entry = this.#failures.get(key);
    if (!entry || now - entry.first > LOCKOUT.windowMs && entry.lockedUntil <= now) {
      entry = { count: 0, first: now, lockedUntil: 0 };
    }
    entry.count++;
    if (entry.count >= threshold) {
      const doublings = Math.min(entry.count - threshold, 10);
      entry.lockedUntil = now + Math.min(LOCKOUT.firstLockMs * 2 ** doublings, LOCKOUT.maxLockMs);
    }
    this.#failures.delete(key);
    if (this.#failures.size >= LOCKOUT.maxTracked) {
      const oldest = this.#failures.keys().next();
      if (!oldest.done) this.#failures.delete(oldest.value);
    }
    this.#failures.set(key, entry);
  }

  async #deny(started: number): Promise<AuthResult> {
    const wait = this.#minDenyMs - (this.#now() - started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return { kind: "denied" };
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
