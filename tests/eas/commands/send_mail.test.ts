import assert from "node:assert/strict";
import { SubmissionError } from "../../../src/backend/submission.ts";
import { sendMail } from "../../../src/eas/commands/send_mail.ts";
import { smartForward } from "../../../src/eas/commands/smart_forward.ts";
import { smartReply } from "../../../src/eas/commands/smart_reply.ts";
import { EasHttpError } from "../../../src/eas/protocol/errors.ts";
import { childText, el, opaqueEl, textEl, type WbxmlElement } from "../../../src/wbxml/mod.ts";
import { fakeContext, FakeMailbox, fakeRequest, FakeSubmitter, folderId } from "./folder_ops_fakes.ts";

const NS = "ComposeMail";
const enc = (s: string) => new TextEncoder().encode(s);

const MIME = [
  "From: Alice <alice@example.test>",
  "To: Bob <bob@example.test>, carol@example.test",
  "Cc: Bob <BOB@example.test>",
  "Bcc: secret@example.test,",
  " hidden@example.test",
  "Subject: Lunch",
  "Message-ID: <lunch-1@phone>",
  "MIME-Version: 1.0",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "Noon?",
  "",
].join("\r\n");

function compose(
  command: string,
  fields: { clientId?: string; mime?: string; save?: boolean; source?: WbxmlElement },
) {
  return el(
    NS,
    command,
    fields.clientId !== undefined && textEl(NS, "ClientId", fields.clientId),
    fields.save && el(NS, "SaveInSentItems"),
    fields.source,
    opaqueEl(NS, "Mime", enc(fields.mime ?? MIME)),
  );
}

Deno.test("SendMail submits without Bcc, saves in Sent with it, and answers an empty 200", async () => {
  const ctx = fakeContext();
  const reply = await sendMail(
    fakeRequest("SendMail", compose("SendMail", { clientId: "c1", save: true })),
    ctx,
  );
  assert.equal(reply.body, undefined);
  const [sent] = ctx.fakeSubmitter.sent;
  assert.equal(sent?.envelope.from, "alice@example.test");
  assert.equal(sent?.envelope.recipients.length, 4);
  assert.ok(!sent?.text.includes("Bcc:") && !sent?.text.includes("hidden@"));
  const [saved] = ctx.mailbox.texts("Sent");
  assert.match(saved ?? "", /Bcc: secret@example.test/);
});

Deno.test("SendMail retried with the same ClientId is not submitted again", async () => {
  const ctx = fakeContext();
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c1" }));
  await sendMail(request, ctx);
  const retry = await sendMail(request, ctx);
  assert.equal(retry.body, undefined, "the retry hears success");
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
  const reused = await sendMail(
    fakeRequest("SendMail", compose("SendMail", { clientId: "c1", mime: MIME.replace("Noon?", "Later?") })),
    ctx,
  );
  assert.equal(childText(reused.body, "Status"), "118");
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
});

Deno.test("SendMail after a failed submission sends on the retry", async () => {
  const ctx = fakeContext();
  ctx.fakeSubmitter.failWith = new SubmissionError("temporary", "Connection refused");
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c2" }));
  assert.equal(childText((await sendMail(request, ctx)).body, "Status"), "111");
  ctx.fakeSubmitter.failWith = undefined;
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
});

Deno.test("SendMail maps submission failures to ComposeMail statuses", async () => {
  const cases: [SubmissionError, string][] = [
    [new SubmissionError("recipient-rejected", "550 No such user", ["x@y"]), "116"],
    [new SubmissionError("too-large", "552 Too big"), "122"],
    [new SubmissionError("quota", "452 Quota"), "115"],
    [new SubmissionError("rejected", "554 No"), "120"],
  ];
  for (const [error, status] of cases) {
    const ctx = fakeContext();
    ctx.fakeSubmitter.failWith = error;
    const reply = await sendMail(fakeRequest("SendMail", compose("SendMail", { clientId: "c" })), ctx);
    assert.equal(childText(reply.body, "Status"), status, error.message);
  }
  const ctx = fakeContext();
  const noRecipient = MIME.replace(/^(To|Cc|Bcc):.*\r\n( .*\r\n)?/gm, "");
  const reply = await sendMail(
    fakeRequest("SendMail", compose("SendMail", { clientId: "c", mime: noRecipient })),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "119");
  const missingClientId = await sendMail(fakeRequest("SendMail", compose("SendMail", {})), ctx);
  assert.equal(childText(missingClientId.body, "Status"), "101");
});

Deno.test("SendMail in 12.1 takes raw MIME, dedups by Message-ID and fails with HTTP statuses", async () => {
  const ctx = fakeContext(new FakeMailbox(), new FakeSubmitter(), "12.1");
  const request = fakeRequest("SendMail", undefined, enc(MIME), { SaveInSent: "T" });
  assert.deepEqual(await sendMail(request, ctx), {});
  assert.deepEqual(await sendMail(request, ctx), {});
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
  assert.equal(ctx.mailbox.texts("Sent").length, 1);
  ctx.fakeSubmitter.failWith = new SubmissionError("temporary", "421 Busy");
  const other = fakeRequest("SendMail", undefined, enc(MIME.replace("lunch-1", "lunch-2")));
  await assert.rejects(() => sendMail(other, ctx), (e) => e instanceof EasHttpError && e.httpStatus === 503);
  ctx.fakeSubmitter.failWith = new SubmissionError("recipient-rejected", "550 No");
  await assert.rejects(() => sendMail(other, ctx), (e) => e instanceof EasHttpError && e.httpStatus === 500);
});

Deno.test("SendMail after a crash before the end of the data submits again at once", async () => {
  const ctx = fakeContext();
  const { sha256Hex } = await import("../../../src/eas/commands/_compose_mime.ts");
  const key = await sha256Hex("client:dev1:c8");
  // An earlier run claimed the key and died before writing the end of the data.
  ctx.store.sentMail.claim("alice", key, "x", "<lunch-1@phone>", Date.now() - 1000);
  ctx.store.sentMail.abandon("alice", key);
  // Even a copy in Sent proves nothing then: the server never had the whole message (RFC 5321 4.1.1.4).
  ctx.mailbox.put("Sent", MIME);
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c8" }));
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
  assert.equal(ctx.store.sentMail.stateOf("alice", key), "sent");
});

Deno.test("SendMail cut short by a crash after the end of the data was written is not sent again, only saved", async () => {
  const ctx = fakeContext();
  const { sha256Hex } = await import("../../../src/eas/commands/_compose_mime.ts");
  const key = await sha256Hex("client:dev1:c13");
  // An earlier attempt wrote the end of the data and died before the reply (long enough ago to
  // be stale): the server has the message.
  const then = Date.now() - 120_000;
  ctx.store.sentMail.claim("alice", key, await sha256Hex(enc(MIME)), "<lunch-1@phone>", then);
  ctx.store.sentMail.markDataSent("alice", key, then);
  ctx.store.sentMail.markDataWritten("alice", key, then);
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c13", save: true }));
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 0, "not submitted a second time");
  assert.equal(ctx.store.sentMail.stateOf("alice", key), "sent");
  assert.equal(ctx.mailbox.boxes.get("Sent")?.messages.size, 1, "the follow-up the crash skipped is done");
  // A further retry is a plain lost-response retry.
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 0);
});

Deno.test("SendMail whose end of data was about to be written decides the retry by the Sent folder", async () => {
  const ctx = fakeContext();
  const { sha256Hex } = await import("../../../src/eas/commands/_compose_mime.ts");
  // The RFC 5321 6.1 gap, as a crash leaves it: the end of the data was written, no reply was read.
  const key = await sha256Hex("client:dev1:c9");
  ctx.store.sentMail.claim("alice", key, "x", "<lunch-1@phone>", Date.now() - 1000);
  ctx.store.sentMail.markDataSent("alice", key);
  ctx.store.sentMail.abandon("alice", key);
  // The server filed the submitted message in Sent: that is proof, nothing is sent again.
  ctx.mailbox.put("Sent", MIME);
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c9" }));
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 0, "found in Sent: not sent again");
  assert.equal(ctx.store.sentMail.stateOf("alice", key), "sent");

  // No copy anywhere: sent again, since a lost mail is worse than a duplicate.
  const key2 = await sha256Hex("client:dev1:c10");
  ctx.store.sentMail.claim("alice", key2, "x", "<other@phone>", Date.now() - 1000);
  ctx.store.sentMail.markDataSent("alice", key2);
  ctx.store.sentMail.abandon("alice", key2);
  const other = fakeRequest(
    "SendMail",
    compose("SendMail", { clientId: "c10", mime: MIME.replace("lunch-1", "other") }),
  );
  assert.equal((await sendMail(other, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 1, "not in Sent: sent");
});

Deno.test("SendMail whose reply was lost answers 111, keeps the record, and the retry decides", async () => {
  const ctx = fakeContext();
  const { sha256Hex } = await import("../../../src/eas/commands/_compose_mime.ts");
  const key = await sha256Hex("client:dev1:c11");
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c11" }));
  ctx.fakeSubmitter.loseReply = true;
  const first = await sendMail(request, ctx);
  assert.equal(childText(first.body, "Status"), "111");
  assert.equal(ctx.store.sentMail.stateOf("alice", key), "data-sent");
  // The retry comes at once (no wait for a stale claim) and, without evidence, sends again.
  ctx.fakeSubmitter.loseReply = false;
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 2, "the known at-least-once gap of RFC 5321 6.1");
  assert.equal(ctx.store.sentMail.stateOf("alice", key), "sent");
  // And once it is recorded sent, a further retry sends nothing.
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 2);
});

Deno.test("SendMail refused after the end of the data forgets the record so the retry sends", async () => {
  const ctx = fakeContext();
  const { sha256Hex } = await import("../../../src/eas/commands/_compose_mime.ts");
  const key = await sha256Hex("client:dev1:c12");
  const request = fakeRequest("SendMail", compose("SendMail", { clientId: "c12" }));
  ctx.fakeSubmitter.failWith = new SubmissionError("temporary", "451 Try again");
  assert.equal(childText((await sendMail(request, ctx)).body, "Status"), "111");
  assert.equal(ctx.store.sentMail.stateOf("alice", key), undefined);
  ctx.fakeSubmitter.failWith = undefined;
  assert.equal((await sendMail(request, ctx)).body, undefined);
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
});

Deno.test("SmartReply quotes the original, flags it \\Answered, and answers 150 for a bad source", async () => {
  const ctx = fakeContext();
  const uid = ctx.mailbox.put(
    "INBOX",
    "From: bob@example.test\r\nTo: alice@example.test\r\nSubject: Lunch\r\nMessage-ID: <orig@bob>\r\n\r\nOriginal words\r\n",
  );
  const inbox = folderId(ctx, "INBOX");
  const source = el(NS, "Source", textEl(NS, "FolderId", inbox), textEl(NS, "ItemId", `${inbox}:${uid}`));
  const reply = await smartReply(
    fakeRequest("SmartReply", compose("SmartReply", { clientId: "r1", source })),
    ctx,
  );
  assert.equal(reply.body, undefined);
  assert.match(ctx.fakeSubmitter.sent[0]?.text ?? "", /Original words/);
  assert.deepEqual(ctx.mailbox.flagsOf("INBOX", uid), ["\\Answered"]);

  const bad = el(NS, "Source", textEl(NS, "FolderId", inbox), textEl(NS, "ItemId", `${inbox}:999`));
  const missing = await smartReply(
    fakeRequest("SmartReply", compose("SmartReply", { clientId: "r2", source: bad })),
    ctx,
  );
  assert.equal(childText(missing.body, "Status"), "150");
  const foreign = el(NS, "Source", textEl(NS, "ItemId", "4711:1"));
  const unknown = await smartForward(
    fakeRequest("SmartForward", compose("SmartForward", { clientId: "r3", source: foreign })),
    ctx,
  );
  assert.equal(childText(unknown.body, "Status"), "150");
  assert.equal(ctx.fakeSubmitter.sent.length, 1);
});

Deno.test("SmartForward in 12.1 takes the original from ItemId and CollectionId in the query", async () => {
  const ctx = fakeContext(new FakeMailbox(), new FakeSubmitter(), "12.1");
  const uid = ctx.mailbox.put("INBOX", "From: bob@example.test\r\nSubject: Plan\r\n\r\nThe plan\r\n");
  const inbox = folderId(ctx, "INBOX");
  const request = fakeRequest("SmartForward", undefined, enc(MIME), {
    ItemId: `${inbox}:${uid}`,
    CollectionId: inbox,
  });
  assert.deepEqual(await smartForward(request, ctx), {});
  assert.match(ctx.fakeSubmitter.sent[0]?.text ?? "", /The plan/);
  assert.deepEqual(ctx.mailbox.flagsOf("INBOX", uid), ["$Forwarded"]);
  assert.equal(ctx.mailbox.texts("Sent").length, 0, "SaveInSent was not asked for");
  const wrongFolder = fakeRequest("SmartForward", undefined, enc(MIME.replace("lunch-1", "lunch-3")), {
    ItemId: `${inbox}:${uid}`,
    CollectionId: folderId(ctx, "Trash"),
  });
  await assert.rejects(
    () => smartForward(wrongFolder, ctx),
    (e) => e instanceof EasHttpError && e.httpStatus === 500,
  );
});

Deno.test("SmartReply with ReplaceMime sends the phone's MIME without the original text", async () => {
  const ctx = fakeContext();
  const uid = ctx.mailbox.put(
    "INBOX",
    "From: bob@example.test\r\nMessage-ID: <o@bob>\r\n\r\nOriginal words\r\n",
  );
  const inbox = folderId(ctx, "INBOX");
  const body = el(
    NS,
    "SmartReply",
    textEl(NS, "ClientId", "rm-1"),
    el(NS, "Source", textEl(NS, "FolderId", inbox), textEl(NS, "ItemId", `${inbox}:${uid}`)),
    el(NS, "ReplaceMime"),
    opaqueEl(NS, "Mime", enc(MIME)),
  );
  assert.equal((await smartReply(fakeRequest("SmartReply", body), ctx)).body, undefined);
  const text = ctx.fakeSubmitter.sent[0]?.text ?? "";
  assert.doesNotMatch(text, /Original words/);
  assert.match(text, /In-Reply-To: <o@bob>/);
});
