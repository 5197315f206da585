import assert from "node:assert/strict";
import { PushLatency } from "../../src/push/push_latency.ts";
import { formatLatency, pushLatencyChart, pushLatencySummary } from "../../src/setup/_push_chart.ts";

const MINUTE = 60_000;
const T0 = 28_000_000 * MINUTE;

function hourWith(samples: [minutesAgo: number, ms: number][], caughtUp = 0) {
  let t = T0;
  const latency = new PushLatency({ now: () => t });
  for (const [ago, ms] of samples) latency.record(ms, T0 - ago * MINUTE);
  for (let i = 0; i < caughtUp; i++) latency.recordCaughtUp();
  t = T0 + 10_000;
  return latency.lastHour();
}

Deno.test("the push chart of a quiet hour says that nothing was pushed yet and draws no marks", () => {
  const hour = hourWith([]);
  const svg = pushLatencyChart(hour);
  assert.match(svg, /^<svg class="chart push-chart" viewBox="0 0 \d+ \d+" role="img"/);
  assert.match(svg, /No pushes in the last hour yet/);
  assert.doesNotMatch(svg, /push-minute/);
  assert.match(
    pushLatencySummary(hour),
    /No held Ping or hanging Sync was woken by a change in the last hour yet\./,
  );
});

Deno.test("the push chart draws one mark per minute with pushes, slower minutes higher up", () => {
  const hour = hourWith([[30, 4], [30, 6], [2, 900]]);
  const svg = pushLatencyChart(hour);
  const marks = [
    ...svg.matchAll(
      /<g class="push-minute" data-at="(\d+)" data-pushes="(\d+)" data-p50="([\d.]+)" data-max="([\d.]+)">.*?<circle cx="[\d.]+" cy="([\d.]+)"/g,
    ),
  ];
  assert.deepEqual(marks.map((m) => [Number(m[1]), m[2], Number(m[4])]), [
    [T0 - 30 * MINUTE, "2", 6],
    [T0 - 2 * MINUTE, "1", 900],
  ]);
  assert.ok(Number(marks[1]![5]) < Number(marks[0]![5]), "900 ms sits above 4-6 ms");
  // The scale reaches the decade above the slowest push.
  assert.match(svg, />1000 ms<|>1\.0 s</);
  assert.doesNotMatch(svg, /No pushes/);
  assert.match(
    svg,
    /<title>\d\d:\d\d UTC: 2 pushes, median \d\.\d ms, 99th percentile 6\.0 ms, slowest 6\.0 ms<\/title>/,
  );
});

Deno.test("the summary gives the hour's count and percentiles, and the caught-up answers apart", () => {
  const text = pushLatencySummary(hourWith([[5, 0], [1, 2500]], 3));
  assert.match(
    text,
    /2 pushes in the last hour: median under 1 ms, 99th percentile 2\.5 s, slowest 2\.5 s\./,
  );
  assert.match(text, /3 more answered at once: the change came while the phone was between requests\./);
  assert.match(text, /Measured from the moment the box's mailbox watcher saw the change/);
});

Deno.test("formatLatency() picks a readable unit", () => {
  assert.deepEqual([0, 0.4, 2.345, 87.6, 1234, 25_000].map(formatLatency), [
    "under 1 ms",
    "under 1 ms",
    "2.3 ms",
    "88 ms",
    "1.2 s",
    "25 s",
  ]);
});
