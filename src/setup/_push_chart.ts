/**
 * The dashboard's push latency of the last hour: an inline SVG chart (no
 * script, no external assets) and a sentence that says the same in words.
 *
 * @module
 */
import type { PushLatencyHour } from "../push/push_latency.ts";

/** A latency for people: "under 1 ms", "2.5 ms", "180 ms", "4.2 s". */
export function formatLatency(ms: number): string {
  if (ms < 1) return "under 1 ms";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

const W = 400, H = 200, LEFT = 58, TOP = 10, BOTTOM = 24;

/**
 * Per minute with pushes: a dot at the median and a whisker up to the
 * slowest push (a tick marks the 99th percentile). The y axis is logarithmic
 * from 1 ms (faster pushes sit on the axis) to the decade above the slowest
 * push, so a 2 ms push and a 20 s storm hold both stay readable. The viewBox
 * is narrow so the labels keep a readable size on a phone screen.
 */
export function pushLatencyChart(hour: PushLatencyHour): string {
  const plotH = H - TOP - BOTTOM, plotW = W - LEFT - 4;
  const top = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(hour.maxMs ?? 0, 1) * 1.0001)));
  const y = (ms: number) => TOP + plotH - (Math.log10(Math.max(ms, 1)) / Math.log10(top)) * plotH;
  const slot = plotW / Math.max(1, hour.minutes.length);
  const x = (i: number) => LEFT + i * slot + slot / 2;
  const grid: string[] = [];
  for (let decade = 1; decade <= top; decade *= 10) {
    const gy = y(decade).toFixed(1);
    grid.push(
      `<line x1="${LEFT}" y1="${gy}" x2="${W}" y2="${gy}" stroke="${decade === 1 ? "#999" : "#e3e6eb"}"/>` +
        `<text x="${LEFT - 4}" y="${gy}" dy="4" font-size="13" text-anchor="end" fill="#555">${
          decade === 1 ? "≤1 ms" : formatLatency(decade)
        }</text>`,
    );
  }
  const marks = hour.minutes.map((m, i) => {
    if (m.pushes === 0 || m.p50Ms === undefined || m.maxMs === undefined) return "";
    const cx = x(i).toFixed(1);
    const time = new Date(m.at).toISOString().slice(11, 16);
    return `<g class="push-minute" data-at="${m.at}" data-pushes="${m.pushes}" data-p50="${m.p50Ms}" data-max="${m.maxMs}">` +
      `<title>${time} UTC: ${m.pushes} push${m.pushes === 1 ? "" : "es"}, median ${
        formatLatency(m.p50Ms)
      }, ` +
      `99th percentile ${formatLatency(m.p99Ms ?? m.maxMs)}, slowest ${formatLatency(m.maxMs)}</title>` +
      `<line x1="${cx}" y1="${y(m.p50Ms).toFixed(1)}" x2="${cx}" y2="${
        y(m.maxMs).toFixed(1)
      }" stroke="#1f5fbf" stroke-width="2"/>` +
      `<line x1="${(x(i) - 3).toFixed(1)}" y1="${y(m.p99Ms ?? m.maxMs).toFixed(1)}" x2="${
        (x(i) + 3).toFixed(1)
      }" y2="${y(m.p99Ms ?? m.maxMs).toFixed(1)}" stroke="#1f5fbf" stroke-width="1.5"/>` +
      `<circle cx="${cx}" cy="${y(m.p50Ms).toFixed(1)}" r="4" fill="#1f5fbf"/></g>`;
  }).join("");
  const empty = hour.pushes === 0
    ? `<text x="${LEFT + plotW / 2}" y="${
      TOP + plotH / 2
    }" font-size="15" text-anchor="middle" fill="#5b6475">No pushes in the last hour yet</text>`
    : "";
  return `<svg class="chart push-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="Push latency per minute over the last hour">
${grid.join("")}
<text x="${LEFT}" y="${H - 5}" font-size="13" fill="#555">-60 min</text><text x="${W - 4}" y="${
    H - 5
  }" font-size="13" text-anchor="end" fill="#555">now</text>
${marks}${empty}</svg>`;
}

/** The sentence under the chart: counts and percentiles of the hour, and what was measured. */
export function pushLatencySummary(hour: PushLatencyHour): string {
  const pushes = hour.pushes === 0
    ? "No held Ping or hanging Sync was woken by a change in the last hour yet."
    : `${hour.pushes} push${hour.pushes === 1 ? "" : "es"} in the last hour: median ${
      formatLatency(hour.p50Ms ?? 0)
    }, 99th percentile ${formatLatency(hour.p99Ms ?? 0)}, slowest ${formatLatency(hour.maxMs ?? 0)}.`;
  const caught = hour.caughtUp > 0
    ? ` ${hour.caughtUp} more answered at once: the change came while the phone was between requests.`
    : "";
  return `<p id="push-latency-summary">${pushes}${caught}</p><p class="muted">Measured from the moment the box's mailbox watcher saw the change (after an IMAP NOTIFY or IDLE event or a folder poll told it) to the moment the phone's held request was answered. The time the mailstore took to tell the box, and the Sync the phone then runs, are not included. Dot: median of the minute; line: up to the slowest; tick: 99th percentile.</p>`;
}
