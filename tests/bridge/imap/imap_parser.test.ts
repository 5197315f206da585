import assert from "node:assert/strict";
import {
  type AssemblerEvent,
  compressSequenceSet,
  type DataResponse,
  decodeMailboxName,
  encodeMailboxName,
  expandSequenceSet,
  formatInternalDate,
  ImapSyntaxError,
  parseEsearch,
  parseFetch,
  parseList,
  parseResponse,
  parseResponseText,
  parseStatus,
  parseVanished,
  ResponseAssembler,
  type StatusResponse,
} from "../../../src/bridge/imap/imap_parser.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function data(text: string): DataResponse {
  const response = parseResponseText(text);
  assert.equal(response.kind, "data");
  return response as DataResponse;
}

function lines(events: AssemblerEvent[]) {
  return events.flatMap((e) => (e.kind === "line" ? [parseResponse(e.line)] : []));
}

Deno.test("parseResponse() reads tagged and untagged status responses with codes", () => {
  const ok = parseResponseText("a1 OK [READ-WRITE] SELECT completed\r\n") as StatusResponse;
  assert.deepEqual(ok, {
    kind: "status",
    tag: "a1",
    status: "OK",
    code: { name: "READ-WRITE", args: [] },
    text: "SELECT completed",
  });
  const perm = parseResponseText(
    "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n",
  ) as StatusResponse;
  assert.deepEqual(perm.code, { name: "PERMANENTFLAGS", args: [["\\Deleted", "\\Seen", "\\*"]] });
  const copy = parseResponseText("A003 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n") as StatusResponse;
  assert.deepEqual(copy.code, { name: "COPYUID", args: ["38505", "304,319:320", "3956:3958"] });
  const no = parseResponseText("a2 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n") as StatusResponse;
  assert.equal(no.status, "NO");
  assert.equal(no.code?.name, "AUTHENTICATIONFAILED");
  const cap = parseResponseText("* OK [CAPABILITY IMAP4rev1 SASL-IR LITERAL+ STARTTLS] Dovecot ready.\r\n");
  assert.deepEqual((cap as StatusResponse).code?.args, ["IMAP4rev1", "SASL-IR", "LITERAL+", "STARTTLS"]);
  const bye = parseResponseText("* BYE Logging out\r\n") as StatusResponse;
  assert.equal(bye.status, "BYE");
  assert.equal(bye.code, null);
});

Deno.test("parseResponse() keeps free-text response codes it cannot tokenize", () => {
  const r = parseResponseText('* NO [ALERT] Quota at "95% [sic]\r\n') as StatusResponse;
  assert.equal(r.code?.name, "ALERT");
  const ref = parseResponseText('a NO [REFERRAL imap://u@h/"x] Try there\r\n') as StatusResponse;
  assert.equal(ref.code?.name, "REFERRAL");
  assert.equal(ref.text, "Try there");
});

Deno.test("parseResponse() reads continuations with and without text", () => {
  assert.deepEqual(parseResponseText("+ Ready for literal data\r\n"), {
    kind: "continuation",
    text: "Ready for literal data",
  });
  assert.deepEqual(parseResponseText("+\r\n"), { kind: "continuation", text: "" });
  assert.deepEqual(parseResponseText("+ idling\r\n"), { kind: "continuation", text: "idling" });
});

Deno.test("parseResponse() reads message data with numbers, quoted escapes and NIL", () => {
  assert.deepEqual(data("* 23 EXISTS\r\n"), { kind: "data", number: 23, name: "EXISTS", values: [] });
  assert.deepEqual(data('* LIST (\\Noselect) "/" "a \\"b\\" \\\\c"\r\n').values, [
    ["\\Noselect"],
    "/",
    'a "b" \\c',
  ]);
  assert.deepEqual(data("* LIST () NIL INBOX\r\n").values, [[], null, "INBOX"]);
  assert.deepEqual(data("* SEARCH 2 84 882\r\n").values, ["2", "84", "882"]);
  assert.deepEqual(data("* SEARCH\r\n").values, []);
});

Deno.test("parseResponse() rejects an unterminated quoted string with its offset", () => {
  assert.throws(() => parseResponseText('* LIST () "/" "INBOX\r\n'), (e) => {
    assert.ok(e instanceof ImapSyntaxError);
    assert.equal(e.offset, 20);
    return true;
  });
});

Deno.test("ResponseAssembler joins a literal split byte by byte across reads", () => {
  const wire = enc.encode(
    "* 12 FETCH (UID 7 BODY[HEADER] {11}\r\nSubject: x\n FLAGS (\\Seen))\r\na OK done\r\n",
  );
  const assembler = new ResponseAssembler();
  const events: AssemblerEvent[] = [];
  for (let i = 0; i < wire.length; i++) events.push(...assembler.push(wire.subarray(i, i + 1)));
  const [fetch, done] = lines(events);
  const row = parseFetch(fetch as DataResponse);
  assert.equal(row.uid, 7);
  assert.equal(dec.decode(row.sections.get("BODY[HEADER]")), "Subject: x\n");
  assert.deepEqual(row.flags, ["\\Seen"]);
  assert.equal((done as StatusResponse).tag, "a");
  assert.equal(assembler.hasPartial, false);
});

Deno.test("ResponseAssembler keeps CRLF and binary bytes inside literals and reads literal8", () => {
  const body = new Uint8Array([0x0d, 0x0a, 0x00, 0xff, 0x7b, 0x31, 0x7d, 0x0d, 0x0a]);
  const head = enc.encode(`* 1 FETCH (BINARY[1] ~{${body.length}}\r\n`);
  const tail = enc.encode(" BODY[2] {0}\r\n)\r\n");
  const wire = new Uint8Array([...head, ...body, ...tail]);
  const [r] = lines(new ResponseAssembler().push(wire));
  const row = parseFetch(r as DataResponse);
  assert.deepEqual(row.sections.get("BINARY[1]"), body);
  assert.deepEqual(row.sections.get("BODY[2]"), new Uint8Array(0));
});

Deno.test("ResponseAssembler streams a literal when asked, in pieces with a placeholder", () => {
  const assembler = new ResponseAssembler({
    shouldStream: (prefix, size) => dec.decode(prefix).includes("BODY[1]") && size > 4,
  });
  const events = [
    ...assembler.push(enc.encode("* 3 FETCH (UID 9 BODY[1]<0> {10}\r\n01234")),
    ...assembler.push(enc.encode("56789 FLAGS ())\r\n")),
  ];
  assert.deepEqual(events.map((e) => e.kind), [
    "literal-start",
    "literal-data",
    "literal-data",
    "literal-end",
    "line",
  ]);
  const chunks = events.flatMap((e) => (e.kind === "literal-data" ? [dec.decode(e.data)] : []));
  assert.deepEqual(chunks, ["01234", "56789"]);
  const row = parseFetch(lines(events)[0] as DataResponse);
  assert.deepEqual(row.attributes.get("BODY[1]<0>"), { streamed: true, size: 10 });
  assert.equal(row.sections.size, 0);
});

Deno.test("ResponseAssembler refuses lines and literals over the limits", () => {
  assert.throws(
    () => new ResponseAssembler({ maxLineBytes: 8 }).push(enc.encode("* OK 1234567890\r\n")),
    ImapSyntaxError,
  );
  assert.throws(
    () => new ResponseAssembler({ maxLiteralBytes: 8 }).push(enc.encode("* 1 FETCH (BODY[] {9}\r\n")),
    /Literal of 9 bytes exceeds the limit of 8/,
  );
});

Deno.test("parseFetch() types the RFC 3501 section 8 ENVELOPE and BODYSTRUCTURE example", () => {
  const text = '* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ' +
    'ENVELOPE ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
    '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
    '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
    '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
    '"<B27397-0100000@cac.washington.edu>") ' +
    'BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n';
  const row = parseFetch(data(text));
  assert.equal(row.seq, 12);
  assert.deepEqual(row.flags, ["\\Seen"]);
  assert.equal(row.internalDate?.toISOString(), "1996-07-17T09:44:25.000Z");
  assert.equal(row.size, 4286);
  assert.equal(row.envelope?.subject, "IMAP4rev1 WG mtg summary and minutes");
  assert.deepEqual(row.envelope?.from, [
    {
      name: "Terry Gray",
      adl: null,
      mailbox: "gray",
      host: "cac.washington.edu",
      address: "gray@cac.washington.edu",
    },
  ]);
  assert.deepEqual(row.envelope?.cc.map((a) => a.address), ["minutes@CNRI.Reston.VA.US", "KLENSIN@MIT.EDU"]);
  assert.deepEqual(row.envelope?.bcc, []);
  assert.equal(row.envelope?.messageId, "<B27397-0100000@cac.washington.edu>");
  assert.deepEqual(row.bodyStructure, {
    part: "1",
    type: "text",
    subtype: "plain",
    params: { charset: "US-ASCII" },
    id: null,
    description: null,
    encoding: "7BIT",
    size: 3028,
    lines: 92,
  });
});

Deno.test("parseFetch() numbers a nested Dovecot BODYSTRUCTURE with an attached message", () => {
  const text = "* 1 FETCH (UID 5 MODSEQ (90060115194045001) BODYSTRUCTURE (" +
    '(("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 12 1 NIL NIL NIL NIL)' +
    '("text" "html" ("charset" "utf-8") NIL NIL "7bit" 40 2 NIL NIL NIL NIL) "alternative" ' +
    '("boundary" "b2") NIL NIL NIL)' +
    '("application" "pdf" ("name" "r.pdf") "<id1>" "Report" "base64" 3000 NIL ' +
    '("attachment" ("filename" "r.pdf")) NIL NIL)' +
    '("message" "rfc822" NIL NIL NIL "7bit" 500 ' +
    '(NIL "Inner" ((NIL NIL "x" "y.test")) NIL NIL NIL NIL NIL NIL NIL) ' +
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 1 NIL NIL NIL NIL) 12 NIL NIL NIL NIL) ' +
    '"mixed" ("boundary" "b1") ("inline" NIL) ("en" "de") "http://x.test/"))\r\n';
  const row = parseFetch(data(text));
  assert.equal(row.modseq, 90060115194045001n);
  const root = row.bodyStructure!;
  assert.equal(root.part, "");
  assert.equal(root.subtype, "mixed");
  assert.deepEqual(root.disposition, { type: "inline", params: {} });
  assert.deepEqual(root.language, ["en", "de"]);
  assert.equal(root.location, "http://x.test/");
  const [alt, pdf, msg] = root.parts!;
  assert.deepEqual(alt!.parts!.map((p) => `${p.part} ${p.type}/${p.subtype}`), [
    "1.1 text/plain",
    "1.2 text/html",
  ]);
  assert.equal(pdf!.part, "2");
  assert.equal(pdf!.id, "<id1>");
  assert.equal(pdf!.description, "Report");
  assert.deepEqual(pdf!.disposition, { type: "attachment", params: { filename: "r.pdf" } });
  assert.equal(msg!.part, "3");
  assert.equal(msg!.envelope?.subject, "Inner");
  assert.equal(msg!.lines, 12);
  assert.equal(msg!.parts![0]!.part, "3.1");
});

Deno.test("parseFetch() reads group addresses and 8-bit literal subjects", () => {
  const subject = enc.encode("Grüße");
  const head = enc.encode(`* 2 FETCH (ENVELOPE (NIL {${subject.length}}\r\n`);
  const tail = enc.encode(
    ' NIL NIL NIL ((NIL NIL "team" NIL)("A" NIL "a" "x.test")(NIL NIL NIL NIL)("B" NIL "b" "x.test")) ' +
      "NIL NIL NIL NIL))\r\n",
  );
  const [r] = lines(new ResponseAssembler().push(new Uint8Array([...head, ...subject, ...tail])));
  const envelope = parseFetch(r as DataResponse).envelope!;
  assert.equal(envelope.subject, "Grüße");
  assert.deepEqual(envelope.to.map((a) => [a.address, a.group]), [["a@x.test", "team"], [
    "b@x.test",
    undefined,
  ]]);
});

Deno.test("parseVanished() and parseEsearch() read QRESYNC and ESEARCH responses", () => {
  assert.deepEqual(parseVanished(data("* VANISHED (EARLIER) 41,43:116,118\r\n")), {
    earlier: true,
    uids: "41,43:116,118",
  });
  assert.deepEqual(parseVanished(data("* VANISHED 405\r\n")), { earlier: false, uids: "405" });
  const es = parseEsearch(data('* ESEARCH (TAG "A285") UID ALL 2,10:11 COUNT 3\r\n'));
  assert.equal(es.tag, "A285");
  assert.equal(es.uid, true);
  assert.equal(es.items.get("ALL"), "2,10:11");
  assert.equal(es.items.get("COUNT"), "3");
  assert.equal(parseEsearch(data('* ESEARCH (TAG "x") UID\r\n')).items.size, 0);
});

Deno.test("parseList() and parseStatus() decode modified UTF-7 names and special-use flags", () => {
  assert.deepEqual(parseList(data('* LIST (\\HasNoChildren \\Sent) "/" "Gesendete Objekte"\r\n')), {
    name: "Gesendete Objekte",
    delimiter: "/",
    flags: ["\\HasNoChildren", "\\Sent"],
  });
  assert.equal(parseList(data('* LIST () "." "&ZeVnLIqe-.Entw&APw-rfe"\r\n')).name, "日本語.Entwürfe");
  assert.deepEqual(
    parseStatus(data("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)\r\n")),
    { mailbox: "blurdybloop", status: { messages: 231, uidNext: 44292, highestModSeq: 7011231777n } },
  );
});

Deno.test("modified UTF-7 round-trips the RFC 3501 5.1.3 example, ampersands and astral characters", () => {
  assert.equal(decodeMailboxName("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
  assert.equal(encodeMailboxName("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assert.equal(encodeMailboxName("Tom & Jerry"), "Tom &- Jerry");
  assert.equal(decodeMailboxName("Tom &- Jerry"), "Tom & Jerry");
  for (const name of ["Entwürfe", "📁 Archiv", "a&b/ä&ö", "Ünïcödé"]) {
    assert.equal(decodeMailboxName(encodeMailboxName(name)), name);
  }
  assert.equal(decodeMailboxName("broken&AAA"), "broken&AAA");
});

Deno.test("expandSequenceSet() and compressSequenceSet() are inverses and bounded", () => {
  assert.deepEqual(expandSequenceSet("1:3,7,10:9"), [1, 2, 3, 7, 9, 10]);
  assert.deepEqual(expandSequenceSet("5:*", 7), [5, 6, 7]);
  assert.equal(compressSequenceSet([9, 1, 2, 3, 7, 10]), "1:3,7,9:10");
  assert.throws(() => expandSequenceSet("1:*"), /without a known maximum/);
  assert.throws(() => expandSequenceSet("1:4294967295"), /more than/);
  assert.throws(() => expandSequenceSet("1,x"), /Invalid sequence set "1,x"/);
});

Deno.test("formatInternalDate() writes the APPEND date-time in UTC", () => {
  assert.equal(formatInternalDate(new Date("2024-03-05T07:08:09Z")), "05-Mar-2024 07:08:09 +0000");
});
