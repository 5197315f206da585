import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildReplyOrForward,
  decodeBody,
  decodeHeaderValue,
  decodeText,
  headerEnvelope,
  htmlToText,
  MimeSyntaxError,
  parseAddressList,
  parseMessage,
  summarize,
  walkParts,
} from "../../src/mime/mod.ts";
import { fuzzParams } from "../fuzz/_runs.ts";

/** Fragments that steer random input into the parser's interesting paths. */
const FRAGMENTS = [
  "Content-Type: multipart/mixed; boundary=b\r\n",
  'Content-Type: multipart/alternative; boundary="b"\r\n',
  "Content-Type: message/rfc822\r\n",
  "Content-Type: text/plain; charset=iso-2022-jp\r\n",
  "Content-Type: text/html; charset*=utf-8''x; name*0*=%E2; name*1=\"y\"\r\n",
  "Content-Transfer-Encoding: base64\r\n",
  "Content-Transfer-Encoding: quoted-printable\r\n",
  'Content-Disposition: attachment; filename="=?utf-8?B?w6Q=?="\r\n',
  "Subject: =?utf-8?Q?=C3=A4?= =?shift_jis?B?k/o=?=\r\n",
  "\r\n",
  "\n",
  "--b\r\n",
  "--b--\r\n",
  "=\r\n",
  "=C3=\n",
  "\t folded\r\n",
  "<p>&amp;<script>",
];

function exercise(bytes: Uint8Array): void {
  try {
    const root = parseMessage(bytes, { maxParts: 200, maxDepth: 16 });
    for (const part of walkParts(root)) {
      decodeBody(part);
      decodeText(part);
      decodeHeaderValue(part.headers.get("subject") ?? "");
      parseAddressList(part.headers.get("to") ?? "");
    }
    const summary = summarize(root);
    if (summary.textHtml) htmlToText(decodeText(summary.textHtml));
  } catch (error) {
    if (!(error instanceof MimeSyntaxError)) throw error;
  }
}

const structured = fc.array(
  fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 20 })),
  { maxLength: 60 },
).map((pieces) =>
  new Uint8Array(
    pieces.flatMap((piece) => [...(typeof piece === "string" ? new TextEncoder().encode(piece) : piece)]),
  )
);

Deno.test("parseMessage() and the decoders throw nothing but MimeSyntaxError on arbitrary bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => exercise(bytes)), fuzzParams(1 / 4));
});

Deno.test("parseMessage() and the decoders throw nothing but MimeSyntaxError on MIME-shaped noise", () => {
  fc.assert(fc.property(structured, (bytes) => exercise(bytes)), fuzzParams(1 / 2));
});

Deno.test("buildReplyOrForward() and headerEnvelope() throw nothing but MimeSyntaxError on MIME-shaped noise", () => {
  fc.assert(
    fc.property(structured, structured, fc.boolean(), (phone, original, reply) => {
      try {
        headerEnvelope(phone);
        const output = buildReplyOrForward({
          phoneMime: phone,
          original,
          mode: reply ? "reply" : "forward",
          replaceMime: false,
        });
        // What we build must itself parse.
        parseMessage(output);
      } catch (error) {
        if (!(error instanceof MimeSyntaxError)) throw error;
      }
    }),
    fuzzParams(0.15),
  );
});

Deno.test("parseMessage() takes bounded time on adversarial structure", () => {
  const deep = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n".repeat(5_000);
  const lines = "--b".repeat(1) + "\r\n--" + "b".repeat(199) + "x\r\n".repeat(1);
  const wide = "Content-Type: multipart/mixed; boundary=" + "b".repeat(199) + "\r\n\r\n" +
    lines.repeat(50_000);
  for (const input of [deep, wide, "=?utf-8?B?" + "A".repeat(1_000_000), "a:" + " \r\n".repeat(200_000)]) {
    const started = performance.now();
    exercise(new TextEncoder().encode(input));
    assert.ok(performance.now() - started < 2_000, `took ${performance.now() - started} ms`);
  }
});
