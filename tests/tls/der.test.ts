import assert from "node:assert/strict";
import {
  derBitString,
  derBoolean,
  derChildren,
  derDecode,
  derExplicit,
  derImplicit,
  derInteger,
  derNamedBits,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derReadBoolean,
  derReadInteger,
  derReadOid,
  derReadString,
  derReadTime,
  derSequence,
  derSet,
  DerSyntaxError,
  derTime,
  derUtf8String,
} from "../../src/tls/der.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

Deno.test("derInteger() writes minimal positive integers with a leading zero before a high bit", () => {
  assert.deepEqual(derInteger(0), bytes(0x02, 0x01, 0x00));
  assert.deepEqual(derInteger(0x7f), bytes(0x02, 0x01, 0x7f));
  assert.deepEqual(derInteger(0x80), bytes(0x02, 0x02, 0x00, 0x80));
  assert.deepEqual(derInteger(256), bytes(0x02, 0x02, 0x01, 0x00));
  assert.deepEqual(derInteger(bytes(0x00, 0x00, 0xff)), bytes(0x02, 0x02, 0x00, 0xff));
  assert.deepEqual(derInteger(bytes()), bytes(0x02, 0x01, 0x00));
  assert.deepEqual(
    derInteger(0x1234567890abcdefn),
    bytes(0x02, 0x08, 0x12, 0x34, 0x56, 0x78, 0x90, 0xab, 0xcd, 0xef),
  );
  assert.throws(() => derInteger(-1), /Negative INTEGER '-1' is not supported/);
});

Deno.test("derSequence() uses the long length form from 128 content bytes on", () => {
  const long = derOctetString(new Uint8Array(200));
  assert.deepEqual(long.subarray(0, 3), bytes(0x04, 0x81, 0xc8));
  const longer = derOctetString(new Uint8Array(300));
  assert.deepEqual(longer.subarray(0, 4), bytes(0x04, 0x82, 0x01, 0x2c));
  assert.deepEqual(derSequence(derNull(), derBoolean(true)), bytes(0x30, 0x05, 0x05, 0x00, 0x01, 0x01, 0xff));
});

Deno.test("derSet() orders its members by their encodings", () => {
  assert.deepEqual(
    derSet(derInteger(2), derInteger(1)),
    bytes(0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02),
  );
});

Deno.test("derBitString() and derNamedBits() write the unused-bits octet", () => {
  assert.deepEqual(derBitString(bytes(0xaa)), bytes(0x03, 0x02, 0x00, 0xaa));
  // keyUsage digitalSignature (bit 0): one used bit.
  assert.deepEqual(derNamedBits([0]), bytes(0x03, 0x02, 0x07, 0x80));
  // keyCertSign (5) and cRLSign (6): trailing zero bit dropped.
  assert.deepEqual(derNamedBits([5, 6]), bytes(0x03, 0x02, 0x01, 0x06));
  assert.deepEqual(derNamedBits([0, 8]), bytes(0x03, 0x03, 0x07, 0x80, 0x80));
  assert.throws(() => derBitString(bytes(1), 8), /unused bit count '8' is invalid/);
});

Deno.test("derOid() encodes base-128 arcs", () => {
  // ecdsa-with-SHA256 as it appears in every ECDSA certificate.
  assert.deepEqual(
    derOid("1.2.840.10045.4.3.2"),
    bytes(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02),
  );
  assert.deepEqual(derOid("2.5.4.3"), bytes(0x06, 0x03, 0x55, 0x04, 0x03));
  assert.deepEqual(derOid("2.999.1"), bytes(0x06, 0x03, 0x88, 0x37, 0x01));
  assert.throws(() => derOid("1.40"), /Object identifier '1.40' is malformed/);
  assert.throws(() => derOid("abc"), /Object identifier 'abc' is malformed/);
});

Deno.test("string writers encode UTF-8 and check the PrintableString repertoire", () => {
  assert.deepEqual(derUtf8String("é"), bytes(0x0c, 0x02, 0xc3, 0xa9));
  assert.deepEqual(derPrintableString("A-1"), bytes(0x13, 0x03, 0x41, 0x2d, 0x31));
  assert.throws(() => derPrintableString("a@b"), /'a@b' contains characters a PrintableString cannot hold/);
});

Deno.test("derTime() writes UTCTime through 2049 and GeneralizedTime from 2050", () => {
  const ascii = (s: string) => [...new TextEncoder().encode(s)];
  assert.deepEqual(
    derTime(new Date("2049-12-31T23:59:59.999Z")),
    bytes(0x17, 0x0d, ...ascii("491231235959Z")),
  );
  assert.deepEqual(
    derTime(new Date("2050-01-01T00:00:00Z")),
    bytes(0x18, 0x0f, ...ascii("20500101000000Z")),
  );
  assert.deepEqual(derTime(new Date("1999-02-03T04:05:06Z")), bytes(0x17, 0x0d, ...ascii("990203040506Z")));
  assert.deepEqual(derTime(new Date("1949-12-31T23:59:59Z")), bytes(0x18, 0x0f, ...ascii("19491231235959Z")));
});

Deno.test("derReadTime() reads both forms back, mapping UTCTime 50-99 to the 1900s", () => {
  for (const iso of ["2049-12-31T23:59:59.000Z", "2050-01-01T00:00:00.000Z", "1950-01-01T00:00:00.000Z"]) {
    assert.equal(derReadTime(derDecode(derTime(new Date(iso)))).toISOString(), iso);
  }
});

Deno.test("derExplicit() wraps an element and derImplicit() replaces its tag", () => {
  assert.deepEqual(derExplicit(0, derInteger(2)), bytes(0xa0, 0x03, 0x02, 0x01, 0x02));
  assert.deepEqual(derImplicit(2, new TextEncoder().encode("a")), bytes(0x82, 0x01, 0x61));
  assert.deepEqual(derImplicit(7, bytes(127, 0, 0, 1)), bytes(0x87, 0x04, 0x7f, 0x00, 0x00, 0x01));
  assert.deepEqual(derImplicit(1, bytes(), true), bytes(0xa1, 0x00));
  assert.throws(() => derImplicit(31, bytes()), /Context tag number '31' is not supported/);
});

Deno.test("the reader walks what the writer wrote", () => {
  const encoded = derSequence(
    derInteger(0x80),
    derOid("1.2.840.113549.1.1.1"),
    derBoolean(true),
    derUtf8String("x"),
  );
  const [integer, oid, boolean, text] = derChildren(derDecode(encoded));
  assert.equal(derReadInteger(integer!), 128n);
  assert.equal(derReadOid(oid!), "1.2.840.113549.1.1.1");
  assert.equal(derReadBoolean(boolean!), true);
  assert.equal(derReadString(text!), "x");
  assert.equal(integer!.offset, 2);
  assert.equal(derReadInteger(derDecode(bytes(0x02, 0x01, 0xff))), -1n);
});

Deno.test("derDecode() rejects truncated, indefinite and trailing input with an offset", () => {
  const cases: [Uint8Array, RegExp, number][] = [
    [bytes(0x30, 0x05, 0x02, 0x01), /Element of 5 bytes is truncated at offset 0/, 0],
    [bytes(0x30, 0x80, 0x00, 0x00), /Indefinite length is not allowed in DER at offset 1/, 1],
    [bytes(0x05, 0x00, 0x00), /Unexpected bytes after the element at offset 2/, 2],
    [bytes(0x04), /Element is missing its length at offset 0/, 0],
    [bytes(0x1f, 0x01, 0x00), /Multi-octet tag numbers are not supported at offset 0/, 0],
  ];
  for (const [input, message, offset] of cases) {
    assert.throws(() => derDecode(input), (error: unknown) => {
      assert.ok(error instanceof DerSyntaxError);
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, message);
      assert.equal(error.offset, offset);
      return true;
    });
  }
  // A child's offset is reported relative to the whole buffer.
  assert.throws(() => derChildren(derDecode(bytes(0x30, 0x03, 0x02, 0x05, 0x00))), /truncated at offset 2/);
});
