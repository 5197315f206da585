import assert from "node:assert/strict";
import { OTHER_COMMAND, RECENT_PER_DEVICE, RecentRequests } from "../../src/log/recent_requests.ts";
import { TrafficMeter } from "../../src/log/trace.ts";

Deno.test("RecentRequests keeps the last ten requests of a device, newest first, with status and duration", () => {
  let now = 1_700_000_000_000;
  const recent = new RecentRequests(() => now);
  assert.deepEqual(recent.of(7), []);
  for (let i = 0; i < RECENT_PER_DEVICE + 3; i++) {
    now += 1000;
    recent.record(7, i % 2 ? "Sync" : "Ping", i === 12 ? 503 : 200, i * 10);
  }
  const kept = recent.of(7);
  assert.equal(kept.length, RECENT_PER_DEVICE);
  assert.deepEqual(kept[0], { at: now, command: "Ping", status: 503, ms: 120 });
  assert.deepEqual(kept[1], { at: now - 1000, command: "Sync", status: 200, ms: 110 });
  // The three oldest (ms 0, 10, 20) are gone.
  assert.deepEqual(kept.at(-1), { at: now - 9000, command: "Sync", status: 200, ms: 30 });
  assert.deepEqual(recent.of(8), []);
});

Deno.test("RecentRequests packs a held Ping of an hour and odd statuses exactly", () => {
  const recent = new RecentRequests(() => 1_700_000_000_123);
  recent.record(1, "Ping", 200, 3_540_000.4);
  recent.record(1, "Sync", 449, 0);
  recent.record(1, "Provision", 999, 2 ** 40);
  assert.deepEqual(recent.of(1), [
    { at: 1_700_000_000_123, command: "Provision", status: 999, ms: 2 ** 36 - 1 },
    { at: 1_700_000_000_123, command: "Sync", status: 449, ms: 0 },
    { at: 1_700_000_000_123, command: "Ping", status: 200, ms: 3_540_000 },
  ]);
});

Deno.test("RecentRequests keeps only the most recently active devices", () => {
  const recent = new RecentRequests(Date.now, 3);
  for (const device of [1, 2, 3]) recent.record(device, "Sync", 200, 1);
  recent.record(1, "Ping", 200, 1); // device 1 is active again: 2 is now the least recent
  recent.record(4, "Sync", 200, 1);
  assert.equal(recent.devices, 3);
  assert.deepEqual(recent.of(2), []);
  assert.equal(recent.of(1).length, 2);
  assert.equal(recent.of(4).length, 1);
  recent.forget(4);
  assert.deepEqual(recent.of(4), []);
  assert.equal(recent.devices, 2);
});

Deno.test("RecentRequests caps the command names a client can make up", () => {
  const recent = new RecentRequests();
  for (let i = 0; i < 100; i++) recent.record(1, `Made-up-${i}`, 501, 1);
  const names = recent.of(1).map((r) => r.command);
  assert.equal(names.length, RECENT_PER_DEVICE);
  assert.ok(names.every((name) => name === OTHER_COMMAND), names.join(","));
  recent.record(1, "Made-up-0", 501, 1);
  assert.equal(recent.of(1)[0]!.command, "Made-up-0");
});

Deno.test("TrafficMeter.count() with a device id feeds that device's last requests; without one only the minute counts", () => {
  const meter = new TrafficMeter(() => 60_000 * 500);
  meter.count("FolderSync", 200, 12, 42);
  meter.count("Autodiscover", 200, 3);
  assert.deepEqual(meter.recent.of(42), [{ at: 60_000 * 500, command: "FolderSync", status: 200, ms: 12 }]);
  assert.equal(meter.recent.devices, 1);
  assert.equal(meter.lastHour().at(-1)!.requests, 2);
});

Deno.test("RecentRequests of 10,000 devices with full rings stays within a few megabytes", () => {
  const recent = new RecentRequests();
  // deno-lint-ignore no-explicit-any -- gc is exposed only with --v8-flags=--expose-gc
  const gc = (globalThis as any).gc as (() => void) | undefined;
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  for (let device = 0; device < 10_000; device++) {
    for (let i = 0; i < RECENT_PER_DEVICE; i++) recent.record(device, i ? "Sync" : "Ping", 200, 900_000);
  }
  gc?.();
  const perDevice = (Deno.memoryUsage().heapUsed - before) / 10_000;
  assert.equal(recent.devices, 10_000);
  // 160 bytes of ring, the typed array and ring objects and the Map entry: well under 1 KiB a device.
  assert.ok(perDevice < 1024, `${Math.round(perDevice)} bytes per device`);
  console.log(`recent requests: ${Math.round(perDevice)} bytes per device`);
});
