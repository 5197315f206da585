import assert from "node:assert/strict";
import {
  decodeTimezoneBlob,
  encodeTimezoneBlob,
  ianaForWindows,
  ianaOffsetAt,
  localToUtc,
  resolveTzid,
  vtimezoneOf,
  windowsFromIana,
  windowsFromVtimezone,
  windowsOffsetAt,
  windowsZone,
  zoneFromBlob,
} from "../../../src/bridge/dav/timezone.ts";
import { parseComponents } from "../../../src/bridge/dav/ical.ts";

/** Pacific Standard Time as Exchange sends it (MS-ASDTYPE 2.7 example shape). */
const PACIFIC =
  "4AEAAFAAYQBjAGkAZgBpAGMAIABTAHQAYQBuAGQAYQByAGQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAsAAAABAAIAAAAAAAAAAAAAAFAAYQBjAGkAZgBpAGMAIABEAGEAeQBsAGkAZwBoAHQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAMAAAACAAIAAAAAAAAAxP///w==";

Deno.test("decodeTimezoneBlob() reads the Pacific Standard Time blob", () => {
  const tz = decodeTimezoneBlob(PACIFIC);
  assert.equal(tz.bias, 480);
  assert.equal(tz.standardName, "Pacific Standard Time");
  assert.deepEqual([
    tz.standardDate.month,
    tz.standardDate.dayOfWeek,
    tz.standardDate.day,
    tz.standardDate.hour,
  ], [
    11,
    0,
    1,
    2,
  ]);
  assert.deepEqual([tz.daylightDate.month, tz.daylightDate.day, tz.daylightDate.hour], [3, 2, 2]);
  assert.equal(tz.daylightBias, -60);
  assert.equal(encodeTimezoneBlob(tz), PACIFIC);
  assert.throws(() => decodeTimezoneBlob("AAAA"), /has 3 bytes/);
});

Deno.test("windowsFromIana() derives rules for north, south and no-DST zones", () => {
  const table: [string, number, number[] | null, number[] | null][] = [
    // zone, bias, [month, dow, week, hour] of standard date, of daylight date
    ["Europe/Berlin", -60, [10, 0, 5, 3], [3, 0, 5, 2]],
    ["America/New_York", 300, [11, 0, 1, 2], [3, 0, 2, 2]],
    ["Australia/Sydney", -600, [4, 0, 1, 3], [10, 0, 1, 2]],
    ["America/Santiago", 240, [4, 0, 1, 0], [9, 0, 1, 0]],
    ["Asia/Tokyo", -540, null, null],
    ["Asia/Kolkata", -330, null, null],
  ];
  for (const [id, bias, std, dst] of table) {
    const tz = windowsFromIana(id, 2026);
    assert.equal(tz.bias, bias, id);
    const rule = (t: typeof tz.standardDate) => [t.month, t.dayOfWeek, t.day, t.hour];
    if (std) assert.deepEqual(rule(tz.standardDate), std, `${id} standard`);
    else assert.equal(tz.standardDate.month, 0, id);
    if (dst) assert.deepEqual(rule(tz.daylightDate), dst, `${id} daylight`);
  }
});

Deno.test("windowsOffsetAt() agrees with Intl across a year, in both hemispheres", () => {
  for (
    const id of ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Pacific/Auckland", "Asia/Tokyo"]
  ) {
    const tz = windowsFromIana(id, 2026);
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 5 * 3_600_000 + 7 * 60_000) {
      assert.equal(windowsOffsetAt(tz, t), ianaOffsetAt(id, t), `${id} at ${new Date(t).toISOString()}`);
    }
  }
});

Deno.test("ianaForWindows() finds the zone of a phone blob by name or by rule", () => {
  assert.equal(ianaForWindows(decodeTimezoneBlob(PACIFIC), 2026), "America/Los_Angeles");
  const sydney = { ...windowsFromIana("Australia/Sydney", 2026), standardName: "", daylightName: "" };
  const found = ianaForWindows(sydney, 2026)!;
  assert.equal(ianaOffsetAt(found, Date.UTC(2026, 0, 10)), 660);
  assert.equal(ianaOffsetAt(found, Date.UTC(2026, 6, 10)), 600);
  assert.equal(
    zoneFromBlob(
      encodeTimezoneBlob({ ...sydney, bias: 0, standardDate: { ...sydney.standardDate, month: 0 } }),
    ).id,
    "UTC",
  );
});

Deno.test("vtimezoneOf() and windowsFromVtimezone() round-trip a rule", () => {
  for (const id of ["Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"]) {
    const tz = windowsFromIana(id, 2026);
    const vtz = vtimezoneOf(windowsZone(tz, "Custom"), 2026);
    const back = windowsFromVtimezone(vtz)!;
    assert.equal(back.bias, tz.bias, id);
    assert.deepEqual(back.standardDate, tz.standardDate, id);
    assert.deepEqual(back.daylightDate, tz.daylightDate, id);
    assert.equal(back.daylightBias, tz.daylightBias, id);
  }
});

Deno.test("resolveTzid() reads IANA names, Lightning paths, Windows names and custom VTIMEZONEs", () => {
  const [cal] = parseComponents(
    "BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:My Zone\nBEGIN:STANDARD\nDTSTART:19701025T030000\n" +
      "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\n" +
      "BEGIN:DAYLIGHT\nDTSTART:19700329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nTZOFFSETFROM:+0100\n" +
      "TZOFFSETTO:+0200\nEND:DAYLIGHT\nEND:VTIMEZONE\nEND:VCALENDAR\n",
  );
  const vtz = cal!.components;
  const july = Date.UTC(2026, 6, 1, 12);
  assert.equal(resolveTzid("Europe/Paris", [])!.offsetAt(july), 120);
  assert.equal(resolveTzid("/mozilla.org/20050126_1/America/Chicago", [])!.offsetAt(july), -300);
  assert.equal(resolveTzid("W. Europe Standard Time", [])!.offsetAt(july), 120);
  const custom = resolveTzid("My Zone", vtz)!;
  assert.equal(custom.offsetAt(july), 120);
  assert.equal(custom.offsetAt(Date.UTC(2026, 0, 1)), 60);
  assert.equal(resolveTzid("Nowhere", []), undefined);
  assert.equal(localToUtc(custom, Date.UTC(2026, 6, 1, 14)), july);
});
