import assert from "node:assert/strict";
import { PushLatency } from "../../src/push/push_latency.ts";

const MINUTE = 60_000;
/** A minute boundary, so tests can step minute by minute. */
const T0 = 28_000_000 * MINUTE;

function clock(start = T0) {
  const c = { t: start, now: () => c.t };
  return c;
}

Deno.test("an empty recorder reports 60 empty minutes ending with the current one and no latency", () => {
  const c = clock(T0 + 30_000);
  const hour = new PushLatency({ now: c.now }).lastHour();
  assert.equal(hour.minutes.length, 60);
  assert.equal(hour.minutes[59]!.at, T0);
  assert.equal(hour.minutes[0]!.at, T0 - 59 * MINUTE);
  assert.equal(hour.pushes, 0);
  assert.equal(hour.caughtUp, 0);
  assert.equal(hour.p50Ms, undefined);
  assert.equal(hour.maxMs, undefined);
  assert.ok(hour.minutes.every((m) => m.pushes === 0 && m.p50Ms === undefined));
});

Deno.test("one push in a minute is reported exactly as p50, p99 and max", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now });
  latency.record(137);
  const minute = latency.lastHour().minutes[59]!;
  assert.deepEqual(minute, { at: T0, pushes: 1, caughtUp: 0, p50Ms: 137, p99Ms: 137, maxMs: 137 });
});

Deno.test("percentiles of many pushes are within 9% of the true values; max is exact", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now });
  // 1..1000 ms in a scrambled order: p50 is 500, p99 is 990.
  for (let i = 0; i < 1000; i++) latency.record(((i * 617) % 1000) + 1);
  const minute = latency.lastHour().minutes[59]!;
  assert.equal(minute.pushes, 1000);
  assert.equal(minute.maxMs, 1000);
  assert.ok(Math.abs(minute.p50Ms! - 500) / 500 < 0.09, `p50 ${minute.p50Ms}`);
  assert.ok(Math.abs(minute.p99Ms! - 990) / 990 < 0.09, `p99 ${minute.p99Ms}`);
});

Deno.test("latencies under a millisecond and negative ones (clock stepped back) count as 0 ms", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now });
  latency.record(0.4);
  latency.record(-25);
  const minute = latency.lastHour().minutes[59]!;
  assert.equal(minute.pushes, 2);
  assert.equal(minute.p50Ms, 0);
  assert.equal(minute.maxMs, 0.4);
});

Deno.test("the hour merges its minutes; caught-up answers are counted apart and not timed", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now });
  latency.record(10);
  latency.recordCaughtUp();
  c.t += MINUTE;
  latency.record(2000);
  latency.record(30);
  latency.recordCaughtUp();
  const hour = latency.lastHour();
  assert.deepEqual(hour.minutes.slice(-2).map((m) => [m.pushes, m.caughtUp, m.maxMs]), [[1, 1, 10], [
    2,
    1,
    2000,
  ]]);
  assert.equal(hour.pushes, 3);
  assert.equal(hour.caughtUp, 2);
  assert.equal(hour.maxMs, 2000);
  assert.ok(Math.abs(hour.p50Ms! - 30) / 30 < 0.09, `p50 ${hour.p50Ms}`);
  assert.ok(Math.abs(hour.p99Ms! - 2000) / 2000 < 0.09, `p99 ${hour.p99Ms}`);
});

Deno.test("minutes older than the ring fall out and their slot starts empty when reused", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now });
  latency.record(500);
  latency.recordCaughtUp();
  c.t += 59 * MINUTE;
  assert.equal(latency.lastHour().minutes[0]!.pushes, 1, "still inside the hour");
  c.t += MINUTE;
  assert.equal(latency.lastHour().pushes, 0, "an hour later it is gone");
  // Same slot, 60 minutes on: the old histogram must not leak into the new minute.
  latency.record(3);
  const hour = latency.lastHour();
  assert.deepEqual(hour.minutes[59], {
    at: T0 + 60 * MINUTE,
    pushes: 1,
    caughtUp: 0,
    p50Ms: 3,
    p99Ms: 3,
    maxMs: 3,
  });
  // A late sample for a minute whose slot was already reused is dropped, not mixed in.
  latency.record(9_999, T0 + 30_000);
  assert.equal(latency.lastHour().pushes, 1);
});

Deno.test("a smaller ring keeps that many minutes", () => {
  const c = clock();
  const latency = new PushLatency({ now: c.now, minutes: 5 });
  for (let i = 0; i < 7; i++) {
    latency.record(i + 1);
    c.t += MINUTE;
  }
  c.t -= MINUTE;
  const hour = latency.lastHour();
  assert.deepEqual(hour.minutes.map((m) => m.maxMs), [3, 4, 5, 6, 7]);
});
