/**
 * Setup page security: the admin password as a PBKDF2-SHA256 hash (WebCrypto),
 * in-memory sessions with a CSRF token each, and login rate limiting.
 *
 * @module
 */
import type { AdminCredential } from "../store/admin_credentials.ts";

/** Security parameters, each with its reason. */
export const SETUP_SECURITY = {
  /** OWASP's 2023 floor for PBKDF2-HMAC-SHA256 (Password Storage Cheat Sheet). */
  pbkdf2Iterations: 210_000,
  /** 128-bit salt, 256-bit derived key (NIST SP 800-132). */
  saltBytes: 16,
  keyBits: 256,
  /** A forgotten browser tab logs out after an office day. */
  sessionIdleMs: 8 * 60 * 60 * 1000,
  /** Admin sessions kept at once; the oldest is dropped beyond this. */
  maxSessions: 32,
  /** Failed logins per address before the address waits (a browser's mistyped passwords fit comfortably). */
  loginFailuresBeforeLock: 5,
  /** The wait after the limit, doubling with each further failure up to maxLockMs. */
  firstLockMs: 30_000,
  maxLockMs: 15 * 60 * 1000,
  /** Shortest admin password (the same floor as PUSHBRIDGE_ADMIN_PASSWORD). */
  minPasswordLength: 8,
} as const;

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    key,
    SETUP_SECURITY.keyBits,
  );
  return new Uint8Array(bits);
}

/** Hashes a new admin password with a fresh random salt. */
export async function hashPassword(
  password: string,
  iterations: number = SETUP_SECURITY.pbkdf2Iterations,
): Promise<Omit<AdminCredential, "updated">> {
  if (password.length < SETUP_SECURITY.minPasswordLength) {
    throw new RangeError(`Password must be at least ${SETUP_SECURITY.minPasswordLength} characters long`);
  }
  const salt = crypto.getRandomValues(new Uint8Array(SETUP_SECURITY.saltBytes));
  return { hash: toBase64(await derive(password, salt, iterations)), salt: toBase64(salt), iterations };
}

/** Checks a password against a stored hash in constant time. */
export async function verifyPassword(
  password: string,
  stored: Pick<AdminCredential, "hash" | "salt" | "iterations">,
): Promise<boolean> {
  const expected = fromBase64(stored.hash);
  const actual = await derive(password, fromBase64(stored.salt), stored.iterations);
  return timingSafeEqual(expected, actual);
}

/** Compares two byte strings without an early exit. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

function randomToken(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32))).replace(
    /[+/=]/g,
    (c) => c === "+" ? "-" : c === "/" ? "_" : "",
  );
}

/** One logged-in browser. */
export interface AdminSession {
  id: string;
  /** Sent back with every form and API write (double submit is not needed: the token lives server-side). */
  csrf: string;
  created: number;
  lastUsed: number;
  address: string;
}

/**
 * Admin sessions, in memory only: a restart logs the admin out, and nothing
 * about sessions is written to flash.
 */
export class SessionStore {
  readonly #sessions = new Map<string, AdminSession>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Opens a session for a successful login. */
  create(address: string): AdminSession {
    const at = this.now();
    const session = { id: randomToken(), csrf: randomToken(), created: at, lastUsed: at, address };
    this.#sessions.set(session.id, session);
    while (this.#sessions.size > SETUP_SECURITY.maxSessions) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    return session;
  }

  /** The live session of a cookie value, refreshing its idle timer. */
  get(id: string | undefined): AdminSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (this.now() - session.lastUsed > SETUP_SECURITY.sessionIdleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastUsed = this.now();
    return session;
  }

  /** Ends one session. */
  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Ends every session (after a password change). */
  clear(): void {
    this.#sessions.clear();
  }
}

/** Answer of {@link LoginLimiter.check}. */
export type LimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts failed logins per address; after the limit the address waits, doubling each time. */
export class LoginLimiter {
  readonly #failures = new Map<string, { count: number; lockedUntil: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether the address may try now. */
  check(address: string): LimitVerdict {
    const entry = this.#failures.get(address);
    const wait = entry ? entry.lockedUntil - this.now() : 0;
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  /** Counts a failure. */
  failed(address: string): void {
    const entry = this.#failures.get(address) ?? { count: 0, lockedUntil: 0 };
    entry.count++;
    const over = entry.count - SETUP_SECURITY.loginFailuresBeforeLock;
    if (over >= 0) {
      entry.lockedUntil = this.now() +
        Math.min(SETUP_SECURITY.firstLockMs * 2 ** over, SETUP_SECURITY.maxLockMs);
    }
    this.#failures.set(address, entry);
  }

  /** Forgets an address's failures after a successful login. */
  succeeded(address: string): void {
    this.#failures.delete(address);
  }
}
