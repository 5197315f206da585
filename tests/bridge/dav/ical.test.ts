import assert from "node:assert/strict";
import {
  CalendarSyntaxError,
  escapeText,
  fold,
  parseComponents,
  parseLine,
  serialize,
  splitValue,
  textValue,
} from "../../../src/bridge/dav/ical.ts";

Deno.test("parseLine() reads groups, quoted and multi-valued parameters", () => {
  const cases: [string, unknown][] = [
    ["SUMMARY:Hello", { name: "SUMMARY", params: {}, value: "Hello" }],
    [
      'ATTENDEE;CN="Doe, Jane";PARTSTAT=ACCEPTED:mailto:j@x',
      { name: "ATTENDEE", params: { CN: ["Doe, Jane"], PARTSTAT: ["ACCEPTED"] }, value: "mailto:j@x" },
    ],
    ["item1.EMAIL;TYPE=work,pref:a@b", {
      name: "EMAIL",
      group: "item1",
      params: { TYPE: ["work", "pref"] },
      value: "a@b",
    }],
    ["TEL;CELL;VOICE:123", { name: "TEL", params: { TYPE: ["CELL", "VOICE"] }, value: "123" }],
    ["dtstart;tzid=Europe/Berlin:20260101T100000", {
      name: "DTSTART",
      params: { TZID: ["Europe/Berlin"] },
      value: "20260101T100000",
    }],
    ['X;CN="a^\'b^nc":v', { name: "X", params: { CN: ['a"b\nc'] }, value: "v" }],
  ];
  for (const [line, want] of cases) assert.deepEqual(parseLine(line), want, line);
});

Deno.test("parseLine() rejects a line without a value separator", () => {
  assert.throws(() => parseLine("SUMMARY"), CalendarSyntaxError);
  assert.throws(() => parseLine('X;CN="open:v'), CalendarSyntaxError);
});

Deno.test("text values unescape and escape backslash, comma, semicolon and newlines", () => {
  const table: [string, string][] = [
    ["a\\, b\\; c\\\\ d\\ne", "a, b; c\\ d\ne"],
    ["line\\Nbreak", "line\nbreak"],
    ["plain", "plain"],
  ];
  for (const [raw, plain] of table) assert.equal(textValue(raw), plain);
  assert.equal(escapeText("a, b; c\\ d\r\ne"), "a\\, b\\; c\\\\ d\\ne");
  assert.deepEqual(splitValue("Doe;Jane\\;x;;", ";"), ["Doe", "Jane;x", "", ""]);
});

Deno.test("fold() keeps lines at 75 octets and never splits a UTF-8 character", () => {
  const line = "DESCRIPTION:" + "ü".repeat(100);
  const folded = fold(line);
  for (const part of folded.split("\r\n").filter((p) => p)) {
    assert.ok(new TextEncoder().encode(part).length <= 75, part);
  }
  assert.equal(folded.replace(/\r\n /g, "").trimEnd(), line);
  assert.equal(fold("SHORT:x"), "SHORT:x\r\n");
});

Deno.test("parseComponents() unfolds lines and nests components; serialize() round-trips", () => {
  const text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nSUMMARY:Long\r\n  title\r\n" +
    "BEGIN:VALARM\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\nX-UNKNOWN;FOO=bar:keep me\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
  const [cal] = parseComponents(text);
  assert.equal(cal!.components[0]!.properties[1]!.value, "Long title");
  assert.equal(cal!.components[0]!.components[0]!.name, "VALARM");
  const again = serialize(cal!);
  assert.match(again, /X-UNKNOWN;FOO=bar:keep me\r\n/);
  assert.deepEqual(parseComponents(again), [cal]);
});

Deno.test("parseComponents() reports unbalanced components with the line", () => {
  assert.throws(
    () => parseComponents("BEGIN:VCALENDAR\nBEGIN:VEVENT\nEND:VCALENDAR\n"),
    /does not close 'VEVENT'/,
  );
  assert.throws(() => parseComponents("BEGIN:VCARD\nFN:x\n"), /not closed/);
  assert.throws(() => parseComponents("FN:x\n"), /outside a component/);
});
