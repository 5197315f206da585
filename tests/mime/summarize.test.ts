import assert from "node:assert/strict";
import { ATTACHMENT_METHOD, decodeText, parseMessage, summarize } from "../../src/mime/mod.ts";
import { crlf } from "./_fixtures.ts";

const RICH = crlf(`Subject: rich
Content-Type: multipart/mixed; boundary=m

--m
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=utf-8

plain body
--a
Content-Type: multipart/related; boundary=r; type="text/html"

--r
Content-Type: text/html; charset=utf-8

<p>html body <img src="cid:logo@x"></p>
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUg==
--r--
--a
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
END:VCALENDAR
--a--
--m
Content-Type: application/pdf
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
JVBERi0xLjQK
--m
Content-Type: text/plain
Content-Disposition: attachment

notes
--m
Content-Type: message/rfc822

Subject: Forwarded: hello/there

inner
--m--
`);

Deno.test("summarize() picks the best alternative and the calendar part", () => {
  const summary = summarize(parseMessage(RICH));
  assert.equal(summary.textPlain?.section, "1.1");
  assert.equal(decodeText(summary.textPlain!), "plain body");
  assert.equal(summary.textHtml?.section, "1.2.1");
  assert.equal(summary.calendar?.section, "1.3");
  assert.equal(summary.calendar?.contentType.params["method"], "REQUEST");
});

Deno.test("summarize() lists attachments with IMAP sections, names, sizes and methods", () => {
  const list = summarize(parseMessage(RICH)).attachments.map(({ part: _part, ...info }) => info);
  assert.deepEqual(list, [
    {
      partPath: "1.2.2",
      filename: "attachment-1.2.2.png",
      contentType: "image/png",
      size: 16,
      contentId: "logo@x",
      inline: true,
      method: ATTACHMENT_METHOD.normal,
    },
    {
      partPath: "2",
      filename: "report.pdf",
      contentType: "application/pdf",
      size: 18,
      inline: false,
      method: 1,
    },
    {
      partPath: "3",
      filename: "attachment-3.txt",
      contentType: "text/plain",
      size: 5,
      inline: false,
      method: 1,
    },
    {
      partPath: "4",
      filename: "Forwarded_ hello_there.eml",
      contentType: "message/rfc822",
      size: 40,
      inline: false,
      method: ATTACHMENT_METHOD.embeddedMessage,
    },
  ]);
});

Deno.test("summarize() of a single-part message uses section 1", () => {
  const summary = summarize(parseMessage(crlf("Content-Type: text/html\n\n<p>x</p>")));
  assert.equal(summary.textHtml?.section, "1");
  assert.equal(summary.textPlain, undefined);
  assert.deepEqual(summary.attachments, []);
  const pdf = summarize(parseMessage(crlf("Content-Type: application/pdf; name=a.pdf\n\n%PDF")));
  assert.equal(pdf.attachments[0]?.partPath, "1");
  assert.equal(pdf.attachments[0]?.filename, "a.pdf");
});

Deno.test("summarize() takes only the first readable part of multipart/mixed as the body", () => {
  const summary = summarize(parseMessage(crlf(
    "Content-Type: multipart/mixed; boundary=m\n\n--m\n\nfirst\n--m\nContent-Type: text/html\n\n<p>second</p>\n--m--",
  )));
  assert.equal(summary.textPlain?.section, "1");
  assert.equal(summary.textHtml, undefined);
  assert.deepEqual(summary.attachments.map((attachment) => attachment.partPath), ["2"]);
});

Deno.test("summarize() treats a signature of multipart/signed as an attachment", () => {
  const summary = summarize(parseMessage(crlf(
    'Content-Type: multipart/signed; boundary=s; protocol="application/pkcs7-signature"\n\n' +
      "--s\nContent-Type: text/plain\n\nsigned text\n--s\nContent-Type: application/pkcs7-signature\n\nMIIB\n--s--",
  )));
  assert.equal(summary.textPlain?.section, "1");
  assert.equal(summary.attachments[0]?.filename, "attachment-2.p7s");
});

Deno.test("summarize() lists a text/calendar file attachment and still finds its METHOD", () => {
  const summary = summarize(parseMessage(crlf(
    "Content-Type: multipart/mixed; boundary=m\n\n--m\n\nsee invite\n--m\n" +
      'Content-Type: text/calendar\nContent-Disposition: attachment; filename="invite.ics"\n\n' +
      "BEGIN:VCALENDAR\nMETHOD:CANCEL\nEND:VCALENDAR\n--m--",
  )));
  assert.equal(summary.calendar?.section, "2");
  assert.equal(summary.attachments[0]?.filename, "invite.ics");
});

Deno.test("summarize() shows a multipart without usable boundary as plain text", () => {
  const root = parseMessage(crlf("Content-Type: multipart/mixed\n\nThe mailer forgot the boundary."));
  const summary = summarize(root);
  assert.equal(summary.textPlain, root);
  assert.equal(decodeText(root), "The mailer forgot the boundary.");
});
