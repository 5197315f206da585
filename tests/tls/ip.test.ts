import assert from "node:assert/strict";
import { canonicalIp, ipFromBytes, ipToBytes } from "../../src/tls/_ip.ts";

Deno.test("ipToBytes() reads IPv4 and every IPv6 spelling", () => {
  assert.deepEqual([...ipToBytes("192.168.0.1")], [192, 168, 0, 1]);
  assert.deepEqual([...ipToBytes("::1")], [...new Array(15).fill(0), 1]);
  assert.deepEqual([...ipToBytes("::")], new Array(16).fill(0));
  assert.deepEqual(
    [...ipToBytes("::ffff:10.1.2.3")],
    [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3],
  );
  assert.deepEqual([...ipToBytes("fe80::1%eth0")], [0xfe, 0x80, ...new Array(13).fill(0), 1]);
  for (
    const bad of [
      "256.0.0.1",
      "1.2.3",
      "01.2.3.4",
      "1::2::3",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7",
      "g::1",
      "host",
    ]
  ) {
    assert.throws(
      () => ipToBytes(bad),
      new RegExp(`'${bad.replace(/\./g, "\\.")}' is not an IPv4 or IPv6 address`),
    );
  }
});

Deno.test("ipFromBytes() writes IPv6 in RFC 5952 form", () => {
  assert.equal(canonicalIp("2001:0DB8:0000:0000:0000:0000:0000:0001"), "2001:db8::1");
  assert.equal(canonicalIp("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1"); // the longest run is compressed
  assert.equal(canonicalIp("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1"); // the first of equal runs
  assert.equal(canonicalIp("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1"); // a single zero group stays
  assert.equal(canonicalIp("0:0:0:0:0:0:0:0"), "::");
  assert.equal(canonicalIp("1:0:0:0:0:0:0:0"), "1::");
  assert.throws(() => ipFromBytes(new Uint8Array(5)), /IP address of 5 bytes is neither IPv4 nor IPv6/);
});
