import assert from "node:assert/strict";
import { buildReplyOrForward, decodeBody, decodeText, parseMessage, summarize } from "../../src/mime/mod.ts";
import { ascii, crlf } from "./_fixtures.ts";

const ORIGINAL = crlf(`From: Carol <carol@example.test>
To: Alice <alice@example.test>
Cc: dave@example.test
Subject: Quarterly numbers
Date: Fri, 20 Nov 2026 10:00:00 +0000
Message-ID: <orig@example.test>
References: <root@example.test>
Content-Type: multipart/mixed; boundary=o

--o
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Numbers attached, sch=F6n.
> old quote
--a
Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html; charset=utf-8

<html><head><style>p{}</style></head><body><p>Numbers attached</p><img src="cid:chart@x"></body></html>
--r
Content-Type: image/png
Content-ID: <chart@x>
Content-Transfer-Encoding: base64

AQID
--r--
--a--
--o
Content-Type: application/vnd.ms-excel; name="q4.xls"
Content-Disposition: attachment; filename="q4.xls"
Content-Transfer-Encoding: base64

BAUG
--o--
`);

const PHONE = crlf(`From: Alice <alice@example.test>
To: Carol <carol@example.test>
Bcc: boss@example.test
Subject: RE: Quarterly numbers
Message-ID: <phone@example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thanks, looks good.
`);

Deno.test("buildReplyOrForward() quotes the original text and HTML below the phone's reply", () => {
  const root = parseMessage(
    buildReplyOrForward({ phoneMime: PHONE, original: ORIGINAL, mode: "reply", replaceMime: false }),
  );
  assert.equal(root.headers.get("subject"), "RE: Quarterly numbers");
  assert.equal(root.headers.get("bcc"), "boss@example.test");
  assert.equal(root.headers.get("message-id"), "<phone@example.test>");
  assert.equal(root.headers.get("in-reply-to"), "<orig@example.test>");
  assert.equal(
    root.headers.get("references")?.replace(/\s+/g, " "),
    "<root@example.test> <orig@example.test>",
  );
  assert.equal(root.headers.getAll("mime-version").length, 1);
  const summary = summarize(root);
  assert.equal(
    decodeText(summary.textPlain!),
    "Thanks, looks good.\r\n\r\nOn Fri, 20 Nov 2026 10:00:00 +0000, Carol <carol@example.test> wrote:\r\n" +
      "> Numbers attached, schön.\r\n>> old quote",
  );
  const html = decodeText(summary.textHtml!);
  assert.match(
    html,
    /^<html><body>Thanks, looks good\.<br>\r\n<br>\r\n<div>On Fri, 20 Nov 2026 [^<]+ Carol &lt;carol@example.test&gt; wrote:<\/div>/,
  );
  assert.match(
    html,
    /<blockquote type="cite"[^>]*><p>Numbers attached<\/p><img src="cid:chart@x"><\/blockquote><\/body><\/html>$/,
  );
  // The quoted HTML shows the chart, so it comes along; the spreadsheet does not on reply.
  assert.deepEqual(summary.attachments.map((a) => [a.contentId ?? a.filename, a.inline]), [[
    "chart@x",
    true,
  ]]);
});

Deno.test("buildReplyOrForward() appends the original's attachments on forward", () => {
  const phone = crlf(
    "From: alice@example.test\nTo: erin@example.test\nSubject: FW: Quarterly numbers\n" +
      "Content-Type: multipart/mixed; boundary=p\n\n--p\nContent-Type: text/html\n\n<p>FYI</p>\n" +
      "--p\nContent-Type: text/plain; name=note.txt\nContent-Disposition: attachment; filename=note.txt\n\nmine\n--p--\n",
  );
  const output = buildReplyOrForward({
    phoneMime: phone,
    original: ORIGINAL,
    mode: "forward",
    replaceMime: false,
  });
  const root = parseMessage(output);
  assert.equal(root.headers.has("in-reply-to"), false);
  assert.match(
    ascii(output),
    /^From: alice@example.test\r\nTo: erin@example.test\r\nSubject: FW: Quarterly numbers\r\n/,
  );
  const summary = summarize(root);
  const text = decodeText(summary.textPlain!);
  assert.match(text, /^FYI\r\n\r\n-------- Original Message --------\r\nSubject: Quarterly numbers\r\n/);
  assert.match(
    text,
    /\r\nTo: Alice <alice@example.test>\r\nCc: dave@example.test\r\nNumbers attached, schön\.\r\n> old quote$/,
  );
  assert.match(
    decodeText(summary.textHtml!),
    /^<p>FYI<\/p>\r\n<br>\r\n<div>-------- Original Message --------<br>\r\n/,
  );
  assert.deepEqual(
    summary.attachments.map((a) => [a.filename, a.inline, [...decodeBody(a.part)].join(",")]),
    [["attachment-1.2.2.png", true, "1,2,3"], ["note.txt", false, "109,105,110,101"], [
      "q4.xls",
      false,
      "4,5,6",
    ]],
  );
});

Deno.test("buildReplyOrForward() also takes positional arguments", () => {
  const output = buildReplyOrForward(PHONE, ORIGINAL, { kind: "reply" });
  assert.equal(parseMessage(output).headers.get("in-reply-to"), "<orig@example.test>");
});

Deno.test("buildReplyOrForward() sends the phone's MIME as it is with ReplaceMime, adding threading on reply", () => {
  const reply = buildReplyOrForward({
    phoneMime: PHONE,
    original: ORIGINAL,
    mode: "reply",
    replaceMime: true,
  });
  assert.equal(
    ascii(reply),
    "In-Reply-To: <orig@example.test>\r\nReferences: <root@example.test>\r\n <orig@example.test>\r\n" +
      ascii(PHONE),
  );
  const forward = buildReplyOrForward({
    phoneMime: PHONE,
    original: ORIGINAL,
    mode: "forward",
    replaceMime: true,
  });
  assert.equal(forward, PHONE);
});

Deno.test("buildReplyOrForward() quotes a plain-text original without inventing HTML", () => {
  const original = crlf("From: c@example.test\nMessage-ID: <p@x>\n\nline one\nline two\n");
  const root = parseMessage(
    buildReplyOrForward({ phoneMime: PHONE, original, mode: "reply", replaceMime: false }),
  );
  assert.equal(root.contentType.mimeType, "text/plain");
  assert.equal(
    decodeText(root),
    "Thanks, looks good.\r\n\r\nOn an earlier date, c@example.test wrote:\r\n> line one\r\n> line two\r\n> ",
  );
});
