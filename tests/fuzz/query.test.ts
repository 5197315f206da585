import assert from "node:assert/strict";
import fc from "fast-check";
import { COMMAND_CODES } from "../../src/eas/protocol/commands.ts";
import { EasHttpError } from "../../src/eas/protocol/errors.ts";
import { parseEasQuery } from "../../src/eas/protocol/query.ts";
import { fuzzParams, timed } from "./_runs.ts";

/** Either a query whose device fields have the documented shape, or a 400/501 EasHttpError. */
function parseOrRefuse(search: string): void {
  try {
    const query = timed("parseEasQuery()", () => parseEasQuery(search));
    assert.match(query.deviceId, /^[A-Za-z0-9_-]{1,64}$/);
    assert.match(query.deviceType, /^[\x21-\x7e]{1,64}$/);
    assert.ok(Object.hasOwn(COMMAND_CODES, query.command), `command '${query.command}'`);
  } catch (error) {
    if (!(error instanceof EasHttpError)) throw error;
    assert.ok(error.httpStatus === 400 || error.httpStatus === 501, `HTTP ${error.httpStatus}`);
    assert.ok(error.message.length > 0 && !error.message.endsWith("."), error.message);
    // The message quotes input cut short: a huge query cannot blow up the log line.
    assert.ok(error.message.length < 300, `message of ${error.message.length} characters`);
  }
}

const commands = Object.keys(COMMAND_CODES);
const queryChar = fc.constantFrom(..."aZ09=&%+/?#;:._-~ \u00e9\u0000\ud800".split(""));

Deno.test("parseEasQuery() of any string returns a well-formed query or throws a 400/501 EasHttpError", () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: queryChar, maxLength: 300 })),
      (s) => {
        parseOrRefuse(s);
        parseOrRefuse(`?${s}`);
      },
    ),
    fuzzParams(),
  );
});

Deno.test("parseEasQuery() of plain queries with arbitrary parameter values never fails otherwise", () => {
  const value = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.constantFrom("", "%", "%zz", "%00", "a".repeat(200)),
  );
  fc.assert(
    fc.property(
      fc.constantFrom(...commands, "Nope", ""),
      value,
      value,
      fc.dictionary(
        fc.constantFrom(
          "ItemId",
          "CollectionId",
          "LongId",
          "AttachmentName",
          "SaveInSent",
          "Occurrence",
          "User",
        ),
        value,
      ),
      (cmd, deviceId, deviceType, extra) => {
        const params = new URLSearchParams({
          Cmd: cmd,
          DeviceId: deviceId,
          DeviceType: deviceType,
          ...extra,
        });
        parseOrRefuse(`?${params}`);
        // The same, hand-joined without encoding (what a sloppy client sends).
        parseOrRefuse(`?Cmd=${cmd}&DeviceId=${deviceId}&DeviceType=${deviceType}`);
      },
    ),
    fuzzParams(),
  );
});

/** A base64 query (MS-ASHTTP 2.2.1.1.1.1) from its parts, before mutation. */
function base64Query(parts: {
  version: number;
  code: number;
  deviceId: Uint8Array;
  policyKey: Uint8Array;
  deviceType: Uint8Array;
  params: { tag: number; value: Uint8Array }[];
}): number[] {
  const bytes = [parts.version, parts.code, 0x09, 0x04, parts.deviceId.length, ...parts.deviceId];
  bytes.push(parts.policyKey.length, ...parts.policyKey, parts.deviceType.length, ...parts.deviceType);
  for (const p of parts.params) bytes.push(p.tag, p.value.length, ...p.value);
  return bytes;
}

const encode = (bytes: number[]) => btoa(String.fromCharCode(...bytes.map((b) => b & 0xff)));

Deno.test("parseEasQuery() of valid and mutated base64 queries reads the fields back or refuses cleanly", () => {
  const ascii = (min: number, max: number) =>
    fc.uint8Array({ minLength: min, maxLength: max, min: 0x21, max: 0x7e });
  fc.assert(
    fc.property(
      fc.record({
        version: fc.constantFrom(121, 140, 141, 160, 161, 0, 255),
        code: fc.integer({ min: 0, max: 30 }),
        deviceId: fc.uint8Array({ minLength: 1, maxLength: 32 }),
        policyKey: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ minLength: 4, maxLength: 4 })),
        deviceType: ascii(1, 20),
        params: fc.array(
          fc.record({ tag: fc.integer({ min: 0, max: 12 }), value: fc.uint8Array({ maxLength: 40 }) }),
          {
            maxLength: 6,
          },
        ),
      }),
      fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), cut: fc.boolean() }), {
        maxLength: 3,
      }),
      (parts, mutations) => {
        const bytes = base64Query(parts);
        // Unmutated, with known command codes, the parts come back.
        const command = Object.entries(COMMAND_CODES).find(([, code]) => code === parts.code)?.[0];
        if (command) {
          const query = parseEasQuery(`?${encodeURIComponent(encode(bytes))}`);
          assert.equal(query.command, command);
          assert.equal(
            query.deviceId,
            [...parts.deviceId].map((b) => b.toString(16).padStart(2, "0")).join("").toUpperCase(),
          );
          assert.equal(query.deviceType, new TextDecoder().decode(parts.deviceType));
        } else {
          parseOrRefuse(`?${encode(bytes)}`);
        }
        let mutated = bytes.slice();
        for (const m of mutations) {
          if (m.cut) mutated = mutated.slice(0, m.at % (mutated.length + 1));
          else if (mutated.length) mutated[m.at % mutated.length] = m.byte;
        }
        parseOrRefuse(`?${encode(mutated)}`);
        parseOrRefuse(encode(mutated));
      },
    ),
    fuzzParams(),
  );
});
