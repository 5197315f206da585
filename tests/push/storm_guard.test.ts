import assert from "node:assert/strict";
import { StormGuard } from "../../src/push/storm_guard.ts";

Deno.test("StormGuard slows, then throttles a device looping within one window", () => {
  const guard = new StormGuard({ windowMs: 60_000, slowAfter: 3, throttleAfter: 5 });
  const verdicts = Array.from({ length: 6 }, (_, i) => guard.note("alice\0phone", 1000 + i));
  assert.deepEqual(verdicts, ["ok", "ok", "ok", "slow", "slow", "throttle"]);
  assert.equal(guard.retryAfterSeconds("alice\0phone", 1006), 60);
  assert.equal(guard.note("alice\0other", 1006), "ok", "other devices are not affected");
});

Deno.test("StormGuard starts a fresh count when the window has passed", () => {
  const guard = new StormGuard({ windowMs: 1000, slowAfter: 1, throttleAfter: 2 });
  assert.equal(guard.note("d", 0), "ok");
  assert.equal(guard.note("d", 10), "slow");
  assert.equal(guard.note("d", 1010), "ok");
});

Deno.test("StormGuard forgets the oldest device when full", () => {
  const guard = new StormGuard({ maxDevices: 2 });
  guard.note("a", 0);
  guard.note("b", 0);
  guard.note("c", 0);
  assert.equal(guard.size, 2);
  assert.equal(guard.retryAfterSeconds("a", 0), 0);
});
