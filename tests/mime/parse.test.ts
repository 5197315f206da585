import assert from "node:assert/strict";
import {
  decodeBody,
  decodeText,
  MimeSyntaxError,
  parseMessage,
  rawBody,
  walkParts,
} from "../../src/mime/mod.ts";
import { crlf } from "./_fixtures.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("parseMessage() unfolds headers and keeps every value of repeated fields", () => {
  const root = parseMessage(crlf(
    "Received: from a\n\tby b\nreceived: from c\nSubject: a long\n  subject line\nX-Empty:\n\nbody",
  ));
  assert.deepEqual(root.headers.getAll("RECEIVED"), ["from a\r\n\tby b", "from c"]);
  assert.equal(root.headers.text("subject"), "a long  subject line");
  assert.equal(root.headers.get("x-empty"), "");
  assert.equal(root.headers.has("x-missing"), false);
  assert.equal(text(rawBody(root)), "body");
});

Deno.test("parseMessage() defaults to text/plain, 7bit and section 1 for a single-part message", () => {
  const root = parseMessage(crlf("Subject: x\n\nhello\n"));
  assert.equal(root.contentType.mimeType, "text/plain");
  assert.equal(root.transferEncoding, "7bit");
  assert.equal(root.section, "1");
  assert.equal(decodeText(root), "hello\r\n");
});

Deno.test("parseMessage() reads raw 8-bit UTF-8 and Windows-1252 headers", () => {
  const utf8 = parseMessage(
    new Uint8Array([...crlf("Subject: Gr"), 0xc3, 0xbc, 0xc3, 0x9f, 0x65, 13, 10, 13, 10]),
  );
  assert.equal(utf8.headers.text("subject"), "Grüße");
  const legacy = parseMessage(new Uint8Array([...crlf("Subject: caf"), 0xe9, 13, 10, 13, 10]));
  assert.equal(legacy.headers.text("subject"), "café");
});

Deno.test("parseMessage() accepts bare LF line ends and skips an mbox From line", () => {
  const root = parseMessage(
    new TextEncoder().encode("From alice@x Sat Nov 21 18:19:43 2026\nSubject: lf\n\nbody\n"),
  );
  assert.equal(root.headers.text("subject"), "lf");
  assert.equal(text(rawBody(root)), "body\n");
});

Deno.test("parseMessage() treats a message without an empty line as headers only", () => {
  const root = parseMessage(crlf("Subject: only headers"));
  assert.equal(root.headers.text("subject"), "only headers");
  assert.equal(rawBody(root).length, 0);
});

Deno.test("parseMessage() falls back to text/plain for an unparseable Content-Type", () => {
  const root = parseMessage(crlf("Content-Type: garbage\n\nx"));
  assert.equal(root.contentType.mimeType, "text/plain");
});

Deno.test("decodeBody() joins quoted-printable soft line breaks and drops trailing blanks", () => {
  const root = parseMessage(crlf(
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: Quoted-Printable\n\n" +
      "Gr=C3=BC=\n=C3=9Fe, a long line =  \nnext line   \nbad =ZZ escape=\n",
  ));
  assert.equal(root.transferEncoding, "quoted-printable");
  assert.equal(decodeText(root), "Grüße, a long line next line\r\nbad =ZZ escape");
});

Deno.test("decodeBody() reads base64 with missing or bad padding and stray characters", () => {
  for (
    const body of [
      "aGVsbG8gd29ybGQ",
      "aGVsbG8gd29ybGQ=",
      "aGVsbG8g\nd29y bGQ===",
      "aGVsbG8gd29ybGQ*",
      "aGVs!bG8gd29ybGQ",
    ]
  ) {
    const root = parseMessage(crlf(`Content-Transfer-Encoding: base64\n\n${body}`));
    assert.equal(text(decodeBody(root)), "hello world", body);
  }
});

Deno.test("decodeBody() returns 8bit and binary bodies unchanged, without copying", () => {
  const input = crlf("Content-Transfer-Encoding: 8bit\n\nraw bytes");
  const root = parseMessage(input);
  const body = decodeBody(root);
  assert.equal(body.buffer, input.buffer);
  assert.equal(text(body), "raw bytes");
});

Deno.test("parseMessage() decodes RFC 2231 filenames with continuations and charset", () => {
  const root = parseMessage(crlf(
    "Content-Type: multipart/mixed; boundary=b\n\n--b\n" +
      "Content-Type: application/pdf;\n name*0*=UTF-8''Gr%C3%BC%C3%9F;\n name*1=\"e und \";\n name*2*=%E2%82%AC.pdf\n" +
      "Content-Disposition: attachment;\n filename*=iso-8859-1'de'caf%E9.pdf\n\nx\n" +
      '--b\nContent-Type: application/pdf; name*1="two.pdf"; name*0="part "\n\ny\n--b--\n',
  ));
  const [first, second] = root.children;
  assert.equal(first!.contentType.params["name"], "Grüße und €.pdf");
  assert.equal(first!.filename, "café.pdf");
  assert.equal(second!.filename, "part two.pdf");
});

Deno.test("parseMessage() decodes RFC 2047 words in quoted filenames from legacy clients", () => {
  const root = parseMessage(crlf(
    'Content-Type: image/png; name="=?UTF-8?B?w6TDtsO8LnBuZw==?="\n' +
      'Content-Disposition: inline; filename="C:\\\\Users\\\\x\\\\=?ISO-8859-1?Q?=E4=F6=FC.png?="\n' +
      "Content-ID: <img1@example>\n\nx",
  ));
  assert.equal(root.contentType.params["name"], "äöü.png");
  assert.equal(root.filename, "äöü.png");
  assert.equal(root.contentId, "img1@example");
  assert.equal(root.disposition?.type, "inline");
});

const NESTED = crlf(`From: a@example.test
Content-Type: multipart/mixed; boundary="outer"

This is the preamble.
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain

plain
--inner
Content-Type: text/html

<p>html</p>
--inner--
--outer
Content-Type: image/png; name=a.png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer
Content-Type: message/rfc822

Subject: inner message
Content-Type: multipart/mixed; boundary=deep

--deep
Content-Type: text/plain

deep text
--deep
Content-Type: application/octet-stream

bin
--deep--
--outer
Content-Type: message/rfc822

Subject: single part

single body
--outer--
epilogue
`);

Deno.test("parseMessage() numbers nested parts like IMAP BODY[section] (RFC 3501 6.4.5)", () => {
  const root = parseMessage(NESTED);
  const sections = [...walkParts(root)].map((part) => `${part.section}=${part.contentType.mimeType}`);
  assert.deepEqual(sections, [
    "=multipart/mixed",
    "1=multipart/alternative",
    "1.1=text/plain",
    "1.2=text/html",
    "2=image/png",
    "3=message/rfc822",
    "3=multipart/mixed",
    "3.1=text/plain",
    "3.2=application/octet-stream",
    "4=message/rfc822",
    "4.1=text/plain",
  ]);
});

Deno.test("parseMessage() gives byte offsets of bodies, preamble and epilogue within the input", () => {
  const root = parseMessage(NESTED);
  const html = root.children[0]!.children[1]!;
  assert.equal(html.source, NESTED);
  assert.equal(text(NESTED.subarray(html.bodyStart, html.bodyEnd)), "<p>html</p>");
  assert.equal(text(NESTED.subarray(...root.preamble!)), "This is the preamble.");
  assert.equal(text(NESTED.subarray(...root.epilogue!)), "epilogue\r\n");
  const embedded = root.children[3]!.children[0]!;
  assert.equal(embedded.headers.text("subject"), "single part");
  assert.equal(text(rawBody(embedded)), "single body");
  assert.equal(text(decodeBody(root.children[1]!)).slice(1, 4), "PNG");
});

Deno.test("parseMessage() tolerates a missing closing boundary", () => {
  const root = parseMessage(crlf(
    "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\nContent-Type: text/html\n\nsecond\nrest\n",
  ));
  assert.equal(root.children.length, 2);
  assert.equal(text(rawBody(root.children[0]!)), "first");
  assert.equal(text(rawBody(root.children[1]!)), "second\r\nrest\r\n");
});

Deno.test("parseMessage() ignores lines that only start like the boundary", () => {
  const root = parseMessage(
    crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b text\n--b  \n\nsecond\n--b--"),
  );
  assert.equal(root.children.length, 2);
  assert.equal(text(rawBody(root.children[0]!)), "--bb\r\n--b text");
});

Deno.test("parseMessage() keeps a multipart without boundary or delimiters as a part without children", () => {
  assert.equal(parseMessage(crlf("Content-Type: multipart/mixed\n\n--b\nx\n")).children.length, 0);
  assert.equal(
    parseMessage(crlf("Content-Type: multipart/mixed; boundary=zz\n\n--b\nx\n")).children.length,
    0,
  );
});

Deno.test("parseMessage() parses parts of multipart/digest as messages", () => {
  const root = parseMessage(
    crlf("Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody\n--d--"),
  );
  const digestPart = root.children[0]!;
  assert.equal(digestPart.contentType.mimeType, "message/rfc822");
  assert.equal(digestPart.children[0]!.headers.text("subject"), "one");
});

Deno.test("parseMessage() parses a base64-encoded message/rfc822 from its decoded bytes", () => {
  const inner = btoa("Subject: encoded\r\n\r\ninside");
  const root = parseMessage(crlf(
    `Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n${inner}\n--b--`,
  ));
  const message = root.children[0]!.children[0]!;
  assert.equal(message.headers.text("subject"), "encoded");
  assert.equal(text(rawBody(message)), "inside");
});

Deno.test("parseMessage() rejects more parts than maxParts with MimeSyntaxError and offset", () => {
  const many = "Content-Type: multipart/mixed; boundary=b\n\n" + "--b\n\nx\n".repeat(50) + "--b--\n";
  assert.equal(parseMessage(crlf(many), { maxParts: 51 }).children.length, 50);
  assert.throws(() => parseMessage(crlf(many), { maxParts: 20 }), (error: unknown) => {
    assert.ok(error instanceof MimeSyntaxError);
    assert.ok(error instanceof SyntaxError);
    assert.match(error.message, /^Message has more than 20 parts at offset \d+$/);
    assert.ok(error.offset > 40);
    return true;
  });
});

Deno.test("parseMessage() rejects a huge part count by default", () => {
  const many = "Content-Type: multipart/mixed; boundary=b\n\n" + "--b\n\n".repeat(100_000) + "--b--\n";
  assert.throws(() => parseMessage(crlf(many)), MimeSyntaxError);
});

Deno.test("parseMessage() rejects nesting deeper than maxDepth", () => {
  let message = "Subject: leaf\n\nleaf";
  for (let i = 0; i < 10; i++) message = `Content-Type: message/rfc822\n\n${message}`;
  assert.equal(parseMessage(crlf(message), { maxDepth: 10 }).depth, 0);
  assert.throws(() => parseMessage(crlf(message), { maxDepth: 5 }), /nests deeper than 5 levels/);
});

Deno.test("parseMessage() reads the type of a Content-Type that lacks the semicolon", () => {
  const root = parseMessage(crlf("Content-Type: text/html charset=utf-8\n\nx"));
  assert.equal(root.contentType.mimeType, "text/html");
});
