import assert from "node:assert/strict";
import {
  buildMessage,
  decodeBody,
  decodeText,
  foldHeader,
  formatDate,
  headerEnvelope,
  parseAddressList,
  parseMessage,
  summarize,
  walkParts,
} from "../../src/mime/mod.ts";
import { ascii, crlf } from "./_fixtures.ts";

const BASE = {
  from: { name: "Alice Ädams", address: "alice@example.test" },
  to: [{ name: "Bob", address: "bob@example.test" }],
  date: new Date(Date.UTC(2026, 10, 21, 8, 5, 9)),
};

/** Every line of the message ends in CRLF, no bare CR or LF, none longer than 998 octets. */
function assertWellFormed(bytes: Uint8Array): void {
  const text = ascii(bytes);
  assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/);
  for (const line of text.split("\r\n")) assert.ok(line.length <= 998, `line of ${line.length}`);
}

Deno.test("formatDate() writes RFC 5322 dates in UTC", () => {
  assert.equal(formatDate(BASE.date), "Sat, 21 Nov 2026 08:05:09 +0000");
});

Deno.test("buildMessage() writes encoded headers and a 7bit body for ASCII text", () => {
  const bytes = buildMessage({
    ...BASE,
    subject: "Grüße aus Köln",
    text: "Hello\nworld",
    messageId: "id1@example.test",
  });
  assertWellFormed(bytes);
  const text = ascii(bytes);
  assert.match(
    text,
    /^Date: Sat, 21 Nov 2026 08:05:09 \+0000\r\nFrom: =\?UTF-8\?B\?[^\r]+\?= <alice@example.test>\r\n/,
  );
  assert.match(text, /\r\nMessage-ID: <id1@example.test>\r\nMIME-Version: 1.0\r\n/);
  assert.match(text, /Content-Transfer-Encoding: 7bit\r\n\r\nHello\r\nworld$/);
  const root = parseMessage(bytes);
  assert.equal(root.headers.text("subject"), "Grüße aus Köln");
  assert.deepEqual(parseAddressList(root.headers.get("from")!), [BASE.from]);
  assert.equal(decodeText(root), "Hello\r\nworld");
});

Deno.test("buildMessage() folds long encoded subjects into words of at most 75 characters", () => {
  const subject = "Ünïcödé ".repeat(30).trim();
  const root = parseMessage(buildMessage({ ...BASE, subject, text: "x" }));
  assert.equal(root.headers.text("subject"), subject);
  for (const word of root.headers.get("subject")!.split(/\s+/)) assert.ok(word.length <= 75);
});

Deno.test("buildMessage() picks quoted-printable for mostly-ASCII text and base64 for CJK", () => {
  const latin = parseMessage(buildMessage({ ...BASE, text: "Schöne Grüße\n" + "x".repeat(200) }));
  assert.equal(latin.transferEncoding, "quoted-printable");
  assert.equal(decodeText(latin), "Schöne Grüße\r\n" + "x".repeat(200));
  const cjk = parseMessage(buildMessage({ ...BASE, text: "日本語のテキスト" }));
  assert.equal(cjk.transferEncoding, "base64");
  assert.equal(decodeText(cjk), "日本語のテキスト");
  const longLine = parseMessage(buildMessage({ ...BASE, text: "y".repeat(2000) }));
  assert.equal(longLine.transferEncoding, "quoted-printable");
  assert.equal(decodeText(longLine), "y".repeat(2000));
});

Deno.test("buildMessage() escapes dots and From at line starts in quoted-printable", () => {
  const text = "é\n.\nFrom here\n trailing \t";
  const bytes = buildMessage({ ...BASE, text });
  assert.doesNotMatch(ascii(bytes), /\r\n\.\r\n|\r\nFrom /);
  assert.equal(decodeText(parseMessage(bytes)), text.replace(/\n/g, "\r\n"));
});

Deno.test("buildMessage() nests alternative, related and mixed parts with attachments", () => {
  const content = new Uint8Array(1000).map((_, i) => i % 256);
  const bytes = buildMessage({
    ...BASE,
    cc: [{ name: "Doe, Jane", address: "jane@example.test" }],
    subject: "Report",
    text: "See attached",
    html: '<p>See <img src="cid:logo@x"></p>',
    attachments: [
      {
        filename: "Bericht für Q4 – endgültige Fassung mit einem sehr langen Namen.pdf",
        contentType: "application/pdf",
        content,
      },
      {
        filename: "logo.png",
        contentType: "image/png",
        content: new Uint8Array([1, 2, 3]),
        contentId: "logo@x",
        inline: true,
      },
    ],
  });
  assertWellFormed(bytes);
  const root = parseMessage(bytes);
  assert.deepEqual([...walkParts(root)].map((part) => `${part.section}=${part.contentType.mimeType}`), [
    "=multipart/mixed",
    "1=multipart/alternative",
    "1.1=text/plain",
    "1.2=multipart/related",
    "1.2.1=text/html",
    "1.2.2=image/png",
    "2=application/pdf",
  ]);
  const summary = summarize(root);
  assert.equal(decodeText(summary.textHtml!), '<p>See <img src="cid:logo@x"></p>');
  const [logo, pdf] = summary.attachments;
  assert.equal(logo?.contentId, "logo@x");
  assert.equal(logo?.inline, true);
  assert.equal(pdf?.filename, "Bericht für Q4 – endgültige Fassung mit einem sehr langen Namen.pdf");
  assert.equal(pdf?.part.contentType.params["name"], pdf?.filename);
  assert.deepEqual(decodeBody(pdf!.part), content);
  for (const line of ascii(bytes).split("\r\n").filter((line) => /^[A-Za-z0-9+/=]{20,}$/.test(line))) {
    assert.ok(line.length <= 76);
  }
});

Deno.test("buildMessage() writes an iMIP calendar part with its METHOD parameter", () => {
  const calendar =
    "BEGIN:VCALENDAR\nMETHOD:REQUEST\nBEGIN:VEVENT\nSUMMARY:Planung\nEND:VEVENT\nEND:VCALENDAR\n";
  const root = parseMessage(
    buildMessage({
      ...BASE,
      subject: "Invite",
      text: "Invitation",
      calendar: { method: "request", content: calendar },
    }),
  );
  assert.equal(root.contentType.mimeType, "multipart/alternative");
  const summary = summarize(root);
  assert.equal(summary.calendar?.contentType.params["method"], "REQUEST");
  assert.equal(summary.calendar?.contentType.params["charset"], "utf-8");
  assert.equal(decodeText(summary.calendar!), calendar.replace(/\n/g, "\r\n"));
  assert.equal(decodeText(summary.textPlain!), "Invitation");
});

Deno.test("headerEnvelope() collects recipients and removes Bcc from the transmitted message", () => {
  const message = crlf(
    'From: "Alice" <alice@example.test>\nTo: bob@example.test, Carol <carol@example.test>\nCc: BOB@example.test\n' +
      "Bcc: secret@example.test,\n  hidden@example.test\nSubject: hi\n\nBcc: stays in the body\n",
  );
  const envelope = headerEnvelope(message);
  assert.equal(envelope.from, "alice@example.test");
  assert.deepEqual(envelope.to, ["bob@example.test", "carol@example.test"]);
  assert.deepEqual(envelope.bcc, ["secret@example.test", "hidden@example.test"]);
  assert.deepEqual(envelope.recipients, [
    "bob@example.test",
    "carol@example.test",
    "secret@example.test",
    "hidden@example.test",
  ]);
  assert.equal(
    ascii(envelope.message),
    ascii(crlf(
      'From: "Alice" <alice@example.test>\nTo: bob@example.test, Carol <carol@example.test>\nCc: BOB@example.test\n' +
        "Subject: hi\n\nBcc: stays in the body\n",
    )),
  );
});

Deno.test("headerEnvelope() falls back to Sender and keeps a message without Bcc as it is", () => {
  const message = crlf("Sender: s@example.test\nTo: undisclosed-recipients:;\n\nx");
  const envelope = headerEnvelope(message);
  assert.equal(envelope.from, "s@example.test");
  assert.deepEqual(envelope.recipients, []);
  assert.equal(envelope.message, message);
});

Deno.test("foldHeader() folds at blanks near 78 characters and undoes existing folds", () => {
  const refs = Array.from({ length: 6 }, (_, i) => `<message-${i}-with-a-longish-id@example.test>`).join(
    "\n ",
  );
  const folded = foldHeader("References", refs);
  const lines = folded.split("\r\n");
  assert.ok(lines.length > 1);
  for (const line of lines) assert.ok(line.length <= 78 && /\S/.test(line), line);
  assert.equal(folded.replace(/\r\n/g, ""), `References: ${refs.replace(/\n/g, "")}`);
  assert.equal(foldHeader("X", "a\nb   "), "X: a b   ");
});
