import assert from "node:assert/strict";
import type { EmailOptions } from "../../../src/backend/mail.ts";
import {
  categoryOfKeyword,
  changeableProperties,
  cutUtf8,
  emailOfView,
  flagsToken,
  keywordOfCategory,
  viewOfMessage,
} from "../../../src/bridge/imap/_mail_convert.ts";

const enc = (s: string) => new TextEncoder().encode(s.replace(/\n/g, "\r\n"));
const META = {
  uid: 42,
  flags: ["\\Seen", "Work", "$Forwarded"],
  internalDate: new Date("2026-11-20T08:00:00.000Z"),
  size: 0,
};
const OPTIONS: EmailOptions = {
  version: "16.1",
  bodyPreferences: [{ type: 2, truncationSize: 100000, preview: 40 }],
  mimeSupport: 0,
  folderServerId: "3",
};

const ALTERNATIVE = `From: =?ISO-8859-1?Q?J=F6rg?= <jorg@example.org>
To: Bob <bob@example.org>, carol@example.org
Subject: Re: =?UTF-8?B?w5xiZXI=?= plans
Message-ID: <b@example.org>
References: <a@example.org>
X-Priority: 1
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus K=F6ln
--b1
Content-Type: text/html; charset=utf-8

<p>Gr\u00fc\u00dfe aus K\u00f6ln</p>
--b1--
`;

Deno.test("emailOfView() converts headers, charsets, flags and an HTML body with preview", () => {
  const raw = enc(ALTERNATIVE);
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, OPTIONS);
  assert.equal(email.from, '"Jörg" <jorg@example.org>');
  assert.equal(email.to, '"Bob" <bob@example.org>, carol@example.org');
  assert.equal(email.displayTo, "Bob; carol@example.org");
  assert.equal(email.subject, "Re: Über plans");
  assert.equal(email.threadTopic, "Über plans");
  assert.equal(email.importance, 2);
  assert.equal(email.read, true);
  assert.deepEqual(email.flag, {});
  assert.deepEqual(email.categories, ["Work"]);
  assert.equal(email.lastVerbExecuted, 3);
  assert.equal(email.messageClass, "IPM.Note");
  assert.equal(email.nativeBodyType, 2);
  assert.equal(email.body?.type, 2);
  assert.equal(email.body?.data, "<p>Grüße aus Köln</p>");
  assert.equal(email.body?.truncated, undefined);
  assert.equal(email.body?.preview, "Grüße aus Köln");
  assert.equal(email.conversationId?.length, 16);
  assert.equal(email.conversationIndex?.length, 27);
});

Deno.test("messages of one thread share a ConversationId", () => {
  const first = enc("Message-ID: <a@example.org>\nSubject: plans\n\nhi\n");
  const reply = enc(ALTERNATIVE);
  const a = emailOfView(viewOfMessage(first), { ...META, size: 1 }, OPTIONS);
  const b = emailOfView(viewOfMessage(reply), { ...META, size: 1 }, OPTIONS);
  assert.deepEqual(a.conversationId, b.conversationId);
  assert.equal(a.conversationIndex?.length, 22);
});

Deno.test("emailOfView() truncates plain text on a character boundary and honours AllOrNone", () => {
  const raw = enc("Subject: x\nContent-Type: text/plain; charset=utf-8\n\nääääää\n");
  const view = viewOfMessage(raw);
  const cut = emailOfView(view, { ...META, size: raw.length }, {
    ...OPTIONS,
    bodyPreferences: [{ type: 1, truncationSize: 5 }],
  });
  assert.deepEqual(cut.body, { type: 1, estimatedDataSize: 14, truncated: true, data: "ää" });
  const none = emailOfView(view, { ...META, size: raw.length }, {
    ...OPTIONS,
    bodyPreferences: [{ type: 1, truncationSize: 5, allOrNone: true }],
  });
  assert.deepEqual(none.body, { type: 1, estimatedDataSize: 14, truncated: true });
});

Deno.test("emailOfView() lists attachments with FileReferences and inline images", () => {
  const raw = enc(`Subject: files
Content-Type: multipart/mixed; boundary=m

--m
Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html; charset=utf-8

<img src="cid:logo@x">
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r--
--m
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--m--
`);
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, OPTIONS);
  assert.deepEqual(email.attachments?.map((a) => [a.displayName, a.fileReference, a.isInline, a.contentId]), [
    ["attachment-1.2.png", "3:42:1.2", true, "logo@x"],
    ["report.pdf", "3:42:2", false, undefined],
  ]);
});

Deno.test("an iMIP invitation gets the meeting request class; MIME is sent when asked for", () => {
  const raw = enc(`Subject: Meeting
Content-Type: multipart/alternative; boundary=c

--c
Content-Type: text/plain

Join us
--c
Content-Type: text/calendar; method=REQUEST; charset=utf-8

BEGIN:VCALENDAR
METHOD:REQUEST
END:VCALENDAR
--c--
`);
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, {
    ...OPTIONS,
    bodyPreferences: [{ type: 4 }],
    mimeSupport: 2,
  });
  assert.equal(email.messageClass, "IPM.Schedule.Meeting.Request");
  assert.equal(email.body?.type, 4);
  assert.equal(email.body?.data, new TextDecoder().decode(raw));
});

Deno.test("2.5 devices get Email:Body with Truncation", () => {
  const raw = enc("Subject: old\n\nhello world\n");
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, {
    ...OPTIONS,
    version: "2.5",
    bodyPreferences: [],
    truncation25: 5,
  });
  assert.equal(email.body, undefined);
  assert.equal(email.body25, "hello");
  assert.equal(email.bodyTruncated25, true);
});

Deno.test("flag tokens, categories and keywords map both ways", () => {
  assert.equal(flagsToken(["\\Seen", "\\Recent", "$Forwarded"]), "$forwarded \\seen");
  assert.equal(keywordOfCategory("Red category"), "Red&20category");
  assert.equal(keywordOfCategory("Büro"), "B&C3&BCro");
  assert.equal(categoryOfKeyword("B&C3&BCro"), "Büro");
  assert.equal(categoryOfKeyword("Red&20category"), "Red category");
  assert.deepEqual(changeableProperties(["\\Flagged", "\\Answered"], "14.1"), {
    read: false,
    flag: { status: 2, flagType: "Flag for follow up" },
    categories: [],
    lastVerbExecuted: 1,
  });
  assert.deepEqual(cutUtf8("abc", undefined), { text: "abc", cut: false });
});

Deno.test("a 14.1 BodyPartPreference adds the HTML BodyPart beside the Body", () => {
  const raw = enc(ALTERNATIVE);
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, {
    ...OPTIONS,
    version: "14.1",
    bodyPreferences: [{ type: 1 }],
    bodyPartPreferences: [{ type: 2, truncationSize: 8 }],
  });
  assert.equal(email.body?.data, "Grüße aus Köln");
  assert.deepEqual(email.bodyPart, {
    status: 1,
    type: 2,
    estimatedDataSize: 24,
    truncated: true,
    data: "<p>Grü",
  });
});

Deno.test("a plain-text message asked for as HTML goes out as plain text under the HTML truncation", () => {
  const raw = enc("Subject: x\n\n" + "a".repeat(100) + "\n");
  const email = emailOfView(viewOfMessage(raw), { ...META, size: raw.length }, {
    ...OPTIONS,
    bodyPreferences: [{ type: 2, truncationSize: 10 }],
  });
  assert.equal(email.body?.type, 1);
  assert.equal(email.body?.data, "a".repeat(10));
  assert.equal(email.body?.truncated, true);
});
