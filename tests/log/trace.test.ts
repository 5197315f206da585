import assert from "node:assert/strict";
import { MAX_TRACE_MS, ProtocolTracer, renderTraceBody, TrafficMeter } from "../../src/log/trace.ts";
import { Store } from "../../src/store/mod.ts";
import { el, encode, textEl } from "../../src/wbxml/mod.ts";

const WBXML = "application/vnd.ms-sync.wbxml";

Deno.test("renderTraceBody() decodes WBXML and redacts passwords and bodies", () => {
  const tree = el(
    "Settings",
    "Settings",
    el("Settings", "DevicePassword", el("Settings", "Set", textEl("Settings", "Password", "hunter2-secret"))),
  );
  const xml = renderTraceBody(WBXML, encode(tree));
  assert.match(xml, /<DevicePassword>/);
  assert.ok(!xml.includes("hunter2-secret"));
  assert.match(renderTraceBody("message/rfc822", new TextEncoder().encode("Subject: private")), /redacted/);
  assert.match(renderTraceBody(WBXML, new Uint8Array([3, 1, 106, 0, 0, 99])), /cannot be decoded/);
  assert.equal(renderTraceBody(WBXML, new Uint8Array(0)), "(empty)");
});

Deno.test("ProtocolTracer records only traced devices and stops at the end of the period", () => {
  const store = Store.open(":memory:");
  let now = 1_000_000;
  const tracer = new ProtocolTracer(store.traces, () => now);
  const device = store.devices.sighted({
    user: "alice",
    deviceId: "D1",
    deviceType: "iPhone",
    userAgent: "",
    protocolVersion: "16.1",
  });
  const exchange = {
    command: "FolderSync",
    query: "?Cmd=FolderSync",
    status: 200,
    ms: 3,
    requestType: WBXML,
    request: encode(el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0"))),
    responseType: "",
    response: new Uint8Array(0),
  };
  tracer.record(device.id, exchange);
  assert.equal(tracer.entries(device.id).length, 0);
  tracer.start(device.id, 60_000);
  tracer.record(device.id, exchange);
  assert.equal(tracer.entries(device.id).length, 1);
  assert.match(tracer.export(device.id, "alice/D1"), /FolderSync \?Cmd=FolderSync -> HTTP 200/);
  // A new tracer (a restart) remembers the tracing period from the store.
  assert.equal(new ProtocolTracer(store.traces, () => now).isTracing(device.id), true);
  now += 60_001;
  tracer.record(device.id, exchange);
  assert.equal(tracer.entries(device.id).length, 1);
  assert.equal(tracer.isTracing(device.id), false);
  assert.throws(() => tracer.start(device.id, 0), /must be positive/);
  assert.equal(tracer.start(device.id, 10 * MAX_TRACE_MS), now + MAX_TRACE_MS);
  store.close();
});

Deno.test("TrafficMeter counts requests per minute over the last hour", () => {
  let now = 60 * 60_000 * 10;
  const meter = new TrafficMeter(() => now);
  meter.count("Ping", 200, 900_000);
  meter.count("Sync", 200, 40);
  meter.count("Sync", 503, 10);
  now += 60_000;
  meter.count("FolderSync", 200, 5);
  const hour = meter.lastHour();
  assert.equal(hour.length, 60);
  assert.deepEqual(hour[58], { at: now - 60_000, requests: 3, pings: 1, errors: 1, maxMs: 40, totalMs: 50 });
  assert.equal(hour[59]!.requests, 1);
  now += 61 * 60_000;
  assert.equal(meter.lastHour().reduce((a, m) => a + m.requests, 0), 0);
});
