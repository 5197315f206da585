import assert from "node:assert/strict";
import { childText, el, opaqueEl, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { messageCount } from "../harness/imap_peek.ts";
import { type Box, startBox } from "./fixture.ts";
import { assertValidResponse, peekMessage, syncFolders, uidsOf, waitForCount } from "./send_fixture.ts";

const NS = "ComposeMail";
const enc = (s: string) => new TextEncoder().encode(s);

function mime(subject: string, to = "bob@example.test"): string {
  return [
    "From: Alice <alice@example.test>",
    `To: ${to}`,
    "Bcc: carol@example.test",
    `Subject: ${subject}`,
    `Message-ID: <${crypto.randomUUID()}@phone.example.test>`,
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=utf-8",
    "",
    `Text of ${subject}`,
    "",
  ].join("\r\n");
}

function compose(command: string, clientId: string, message: string, source?: WbxmlElement, save = true) {
  return el(
    NS,
    command,
    textEl(NS, "ClientId", clientId),
    save && el(NS, "SaveInSentItems"),
    source,
    opaqueEl(NS, "Mime", enc(message)),
  );
}

async function withBox(fn: (box: Box) => Promise<void>): Promise<void> {
  const box = await startBox({ postfix: true });
  try {
    await fn(box);
  } finally {
    await box.stop();
  }
}

Deno.test("SendMail over TLS delivers to bob, hides Bcc, saves to Sent, and a retry sends once", async () => {
  await withBox(async (box) => {
    const client = box.client("alice");
    const request = compose("SendMail", "send-1", mime("Hello Bob"));
    const reply = await client.command("SendMail", request);
    assert.equal(reply.status, 200);
    assert.equal(reply.raw.length, 0, "success is an empty response");
    assert.equal(await waitForCount(box.mailstore, "bob", 1), 1);
    assert.equal(await waitForCount(box.mailstore, "carol", 1), 1, "the Bcc recipient got it");
    const [bobUid] = await uidsOf(box.mailstore, "bob");
    const delivered = await peekMessage(box.mailstore, "bob", "INBOX", bobUid!);
    assert.match(delivered.text, /Text of Hello Bob/);
    assert.doesNotMatch(delivered.text, /carol@example\.test/, "Bcc is not transmitted");
    assert.equal(await messageCount(box.mailstore, "alice", "Sent"), 1);

    const retry = await client.command("SendMail", request);
    assert.equal(retry.status, 200);
    assert.equal(retry.raw.length, 0);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await messageCount(box.mailstore, "bob"), 1, "the retry of the same ClientId was not sent");
  });
});

Deno.test("SendMail answers 116 for a rejected recipient and 119 without recipients", async () => {
  await withBox(async (box) => {
    const client = box.client("alice");
    const rejected = await client.command(
      "SendMail",
      compose("SendMail", "bad-1", mime("Nobody", "nobody@example.test")),
    );
    await assertValidResponse(rejected);
    assert.equal(childText(rejected.body, "Status"), "116");
    const none = mime("No one").replace(/^(To|Bcc): .*\r\n/gm, "");
    const empty = await client.command("SendMail", compose("SendMail", "bad-2", none));
    assert.equal(childText(empty.body, "Status"), "119");
    assert.equal(await messageCount(box.mailstore, "alice", "Sent"), 0);
  });
});

Deno.test("SmartReply and SmartForward carry the original and flag it; a bad source is 150", async () => {
  await withBox(async (box) => {
    const attachment = btoa("PDF bytes of the plan");
    await box.mailstore.deliver(
      "alice",
      [
        "From: Bob <bob@example.test>",
        "To: alice@example.test",
        "Subject: The plan",
        "Message-ID: <plan@bob.example.test>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
        "",
        "--b1",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "Original plan text",
        "--b1",
        'Content-Type: application/pdf; name="plan.pdf"',
        'Content-Disposition: attachment; filename="plan.pdf"',
        "Content-Transfer-Encoding: base64",
        "",
        attachment,
        "--b1--",
        "",
      ].join("\r\n"),
    );
    const client = box.client("alice");
    const { ids } = await syncFolders(client);
    const inbox = ids.get("Inbox") ?? ids.get("INBOX")!;
    const [uid] = await uidsOf(box.mailstore, "alice");
    const source = el(NS, "Source", textEl(NS, "FolderId", inbox), textEl(NS, "ItemId", `${inbox}:${uid}`));

    const replied = await client.command(
      "SmartReply",
      compose("SmartReply", "r-1", mime("Re: The plan"), source),
    );
    assert.equal(replied.status, 200);
    assert.equal(replied.raw.length, 0, new TextDecoder().decode(replied.raw));
    const forwarded = await client.command(
      "SmartForward",
      compose("SmartForward", "f-1", mime("Fwd: The plan", "carol@example.test"), source),
    );
    assert.equal(forwarded.raw.length, 0);

    assert.equal(await waitForCount(box.mailstore, "bob", 1), 1);
    const reply = await peekMessage(box.mailstore, "bob", "INBOX", (await uidsOf(box.mailstore, "bob"))[0]!);
    assert.match(reply.text, /Original plan text/);
    assert.equal(await waitForCount(box.mailstore, "carol", 2), 2, "carol: Bcc of the reply and the forward");
    const carolUids = await uidsOf(box.mailstore, "carol");
    const forward = await peekMessage(box.mailstore, "carol", "INBOX", carolUids[carolUids.length - 1]!);
    assert.match(forward.text, /Original plan text/);
    assert.match(forward.text, /plan\.pdf/);
    assert.ok(forward.text.includes(attachment), "the attachment travels with the forward");

    const original = await peekMessage(box.mailstore, "alice", "INBOX", uid!);
    assert.match(original.flags, /\\Answered/);
    assert.match(original.flags, /\$Forwarded/);

    const missing = el(NS, "Source", textEl(NS, "FolderId", inbox), textEl(NS, "ItemId", `${inbox}:9999`));
    const bad = await client.command("SmartReply", compose("SmartReply", "r-2", mime("Re: gone"), missing));
    await assertValidResponse(bad);
    assert.equal(childText(bad.body, "Status"), "150");
  });
});

Deno.test("SendMail in 12.1 posts raw MIME and a retry of the same Message-ID sends once", async () => {
  await withBox(async (box) => {
    const client = box.client("alice", { protocolVersion: "12.1" });
    const message = enc(mime("Old protocol"));
    const headers = { "Content-Type": "message/rfc822" };
    const first = await client.send("SendMail", message, { SaveInSent: "T" }, headers);
    assert.equal(first.status, 200);
    const retry = await client.send("SendMail", message, { SaveInSent: "T" }, headers);
    assert.equal(retry.status, 200);
    assert.equal(await waitForCount(box.mailstore, "bob", 1), 1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await messageCount(box.mailstore, "bob"), 1);
    assert.equal(await messageCount(box.mailstore, "alice", "Sent"), 1);
    const rejected = await client.send("SendMail", enc(mime("x", "nobody@example.test")), {}, headers);
    assert.equal(rejected.status, 500);
  });
});
