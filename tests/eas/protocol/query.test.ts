import assert from "node:assert/strict";
import { EasRequestError, parseEasQuery } from "../../../src/eas/protocol/mod.ts";

Deno.test("parseEasQuery() reads the plain query form", () => {
  const q = parseEasQuery(
    "?Cmd=SmartReply&User=alice&DeviceId=ABC123&DeviceType=iPhone&ItemId=5%3A7&CollectionId=5&SaveInSent=T",
  );
  assert.equal(q.command, "SmartReply");
  assert.equal(q.user, "alice");
  assert.equal(q.deviceId, "ABC123");
  assert.equal(q.deviceType, "iPhone");
  assert.equal(q.itemId, "5:7");
  assert.equal(q.collectionId, "5");
  assert.equal(q.saveInSent, true);
});

Deno.test("parseEasQuery() reads the base64 query form of MS-ASHTTP 2.2.1.1.1.1", () => {
  // version 14.1, Sync (0), locale 0x0409, 4-byte device id, policy key 1234, type "SP", User=bob, Options=SaveInSent|AcceptMultiPart
  const bytes = [
    141,
    0,
    0x09,
    0x04,
    4,
    0xde,
    0xad,
    0xbe,
    0xef,
    4,
    0xd2,
    0x04,
    0,
    0,
    2,
    0x53,
    0x50,
    8,
    3,
    0x62,
    0x6f,
    0x62,
    7,
    1,
    3,
  ];
  const q = parseEasQuery("?" + btoa(String.fromCharCode(...bytes)));
  assert.equal(q.command, "Sync");
  assert.equal(q.protocolVersion, "14.1");
  assert.equal(q.locale, 0x0409);
  assert.equal(q.deviceId, "DEADBEEF");
  assert.equal(q.policyKey, "1234");
  assert.equal(q.deviceType, "SP");
  assert.equal(q.user, "bob");
  assert.equal(q.saveInSent, true);
  assert.equal(q.acceptMultiPart, true);
});

Deno.test("parseEasQuery() rejects a truncated base64 query with a clear message", () => {
  const bytes = [141, 0, 0x09, 0x04, 8, 1, 2];
  assert.throws(() => parseEasQuery("?" + btoa(String.fromCharCode(...bytes))), (e: unknown) => {
    assert.ok(e instanceof EasRequestError);
    assert.match(e.message, /ends inside its device id/);
    return true;
  });
});

Deno.test("parseEasQuery() answers 501 for an unknown command and 400 for missing device fields", () => {
  assert.throws(() => parseEasQuery("?Cmd=Bogus&DeviceId=A&DeviceType=B"), (e: unknown) => {
    assert.ok(e instanceof EasRequestError);
    assert.equal(e.httpStatus, 501);
    return true;
  });
  assert.throws(() => parseEasQuery("?Cmd=Sync&DeviceType=B"), /'DeviceId' is missing/);
  assert.throws(() => parseEasQuery("?Cmd=Sync&DeviceId=A"), /'DeviceType' is missing/);
  assert.throws(() => parseEasQuery("?Cmd=Sync&DeviceId=a%20b&DeviceType=B"), /DeviceId 'a b' is not valid/);
  assert.throws(() => parseEasQuery(""), /no query string/);
});
