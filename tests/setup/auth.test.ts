import assert from "node:assert/strict";
import {
  hashPassword,
  LoginLimiter,
  SessionStore,
  SETUP_SECURITY,
  verifyPassword,
} from "../../src/setup/_auth.ts";

Deno.test("hashPassword() uses PBKDF2 with at least 210,000 iterations and a fresh salt", async () => {
  const a = await hashPassword("correct horse");
  const b = await hashPassword("correct horse");
  assert.ok(a.iterations >= 210_000);
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.hash, b.hash);
  assert.ok(!a.hash.includes("correct"));
});

Deno.test("verifyPassword() accepts the password and refuses others", async () => {
  const stored = await hashPassword("s3cret-pass", 1000);
  assert.equal(await verifyPassword("s3cret-pass", stored), true);
  assert.equal(await verifyPassword("s3cret-pasS", stored), false);
  assert.equal(await verifyPassword("", stored), false);
});

Deno.test("hashPassword() refuses a short password", async () => {
  await assert.rejects(() => hashPassword("short"), /at least 8 characters/);
});

Deno.test("SessionStore ends idle sessions and keeps a CSRF token per session", () => {
  let now = 0;
  const sessions = new SessionStore(() => now);
  const s = sessions.create("10.0.0.2");
  assert.notEqual(s.id, s.csrf);
  assert.equal(sessions.get(s.id)?.csrf, s.csrf);
  now += SETUP_SECURITY.sessionIdleMs + 1;
  assert.equal(sessions.get(s.id), undefined);
  assert.equal(sessions.get("forged"), undefined);
});

Deno.test("LoginLimiter locks an address after repeated failures, doubling the wait", () => {
  let now = 0;
  const limiter = new LoginLimiter(() => now);
  for (let i = 0; i < SETUP_SECURITY.loginFailuresBeforeLock - 1; i++) limiter.failed("10.0.0.9");
  assert.equal(limiter.check("10.0.0.9").allowed, true);
  limiter.failed("10.0.0.9");
  const first = limiter.check("10.0.0.9");
  assert.equal(first.allowed, false);
  assert.equal(!first.allowed && first.retryAfterMs, SETUP_SECURITY.firstLockMs);
  assert.equal(limiter.check("10.0.0.10").allowed, true);
  now += SETUP_SECURITY.firstLockMs;
  limiter.failed("10.0.0.9");
  const second = limiter.check("10.0.0.9");
  assert.equal(!second.allowed && second.retryAfterMs, SETUP_SECURITY.firstLockMs * 2);
  limiter.succeeded("10.0.0.9");
  assert.equal(limiter.check("10.0.0.9").allowed, true);
});
