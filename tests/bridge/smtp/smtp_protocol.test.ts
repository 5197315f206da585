import assert from "node:assert/strict";
import {
  authMechanisms,
  encodeData,
  hasEightBit,
  isLastReplyLine,
  parseExtensions,
  parseReply,
  pathArgument,
  plainAuth,
  sizeLimit,
} from "../../../src/bridge/smtp/smtp_protocol.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("parseReply() joins multi-line replies and splits off the enhanced status code", () => {
  assert.deepEqual(parseReply(["550-5.1.1 <x@y>: Recipient address rejected:", "550 5.1.1 User unknown"]), {
    code: 550,
    enhanced: "5.1.1",
    text: "<x@y>: Recipient address rejected:\nUser unknown",
  });
  assert.deepEqual(parseReply(["220 mail.example ESMTP"]), { code: 220, text: "mail.example ESMTP" });
  assert.deepEqual(parseReply(["250"]), { code: 250, text: "" });
});

Deno.test("parseReply() rejects lines that are not replies or mix codes", () => {
  assert.equal(parseReply(["hello"]), undefined);
  assert.equal(parseReply(["250-a", "251 b"]), undefined);
  assert.equal(parseReply(["650 out of range"]), undefined);
  assert.equal(parseReply([]), undefined);
});

Deno.test("isLastReplyLine() tells continuation lines from the last one", () => {
  assert.equal(isLastReplyLine("250-PIPELINING"), false);
  assert.equal(isLastReplyLine("250 OK"), true);
  assert.equal(isLastReplyLine("250"), true);
});

Deno.test("parseExtensions() reads EHLO keywords, SIZE and AUTH mechanisms", () => {
  const reply = parseReply([
    "250-mail.example.test",
    "250-SIZE 10240000",
    "250-AUTH PLAIN login",
    "250-AUTH=CRAM-MD5,XOAUTH2",
    "250-starttls",
    "250 8BITMIME",
  ])!;
  const extensions = parseExtensions(reply);
  assert.deepEqual([...extensions.keys()], ["SIZE", "AUTH", "AUTH=CRAM-MD5,XOAUTH2", "STARTTLS", "8BITMIME"]);
  assert.equal(sizeLimit(extensions), 10240000);
  assert.deepEqual([...authMechanisms(extensions)], ["PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"]);
});

Deno.test("sizeLimit() is undefined for SIZE without a value or with 0", () => {
  assert.equal(sizeLimit(parseExtensions(parseReply(["250-x", "250 SIZE"])!)), undefined);
  assert.equal(sizeLimit(parseExtensions(parseReply(["250-x", "250 SIZE 0"])!)), undefined);
  assert.equal(sizeLimit(parseExtensions(parseReply(["250 x"])!)), undefined);
});

Deno.test("encodeData() normalizes line ends, stuffs dots and terminates the data", () => {
  const input = new TextEncoder().encode(".start\nbare LF\rbare CR\r\n..two\r\n.\r\nlast");
  assert.equal(text(encodeData(input)), "..start\r\nbare LF\r\nbare CR\r\n...two\r\n..\r\nlast\r\n.\r\n");
  assert.equal(text(encodeData(new TextEncoder().encode("ends well\r\n"))), "ends well\r\n.\r\n");
  assert.equal(text(encodeData(new Uint8Array())), ".\r\n");
});

Deno.test("plainAuth() encodes UTF-8 credentials as SASL PLAIN", () => {
  assert.equal(atob(plainAuth("alice", "pässword")), "\0alice\0p\xc3\xa4ssword");
});

Deno.test("pathArgument() brackets addresses and refuses command injection", () => {
  assert.equal(pathArgument("a@x.test"), "<a@x.test>");
  assert.throws(() => pathArgument("a@x.test>\r\nRCPT TO:<evil@x.test"), /Invalid address/);
  assert.throws(() => pathArgument("a b@x.test"), /Invalid address/);
});

Deno.test("hasEightBit() finds bytes above 0x7f", () => {
  assert.equal(hasEightBit(new Uint8Array([0x41, 0x80])), true);
  assert.equal(hasEightBit(new Uint8Array([0x41, 0x7f])), false);
});
