import assert from "node:assert/strict";
import {
  decodeCharset,
  decodeHeaderValue,
  decodeText,
  normalizeCharset,
  parseMessage,
} from "../../src/mime/mod.ts";
import { crlf, hexEscape } from "./_fixtures.ts";

/** Every charset the bridge must read, with bytes of a sample in it and the expected text. */
const SAMPLES: [charset: string, bytes: number[], text: string][] = [
  ["UTF-8", [0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0xe2, 0x82, 0xac], "café €"],
  ["US-ASCII", [0x48, 0x69], "Hi"],
  ["ISO-8859-1", [0x63, 0x61, 0x66, 0xe9], "café"],
  ["ISO-8859-2", [0xb3, 0xf3, 0xbf, 0x6b, 0x6f], "łóżko"],
  ["ISO-8859-5", [0xbf, 0xe0, 0xd8, 0xd2, 0xd5, 0xe2], "Привет"],
  ["ISO-8859-7", [0xe3, 0xe5, 0xe9, 0xdc], "γειά"],
  ["ISO-8859-15", [0xa4, 0x31], "€1"],
  ["Windows-1250", [0x9a, 0x74, 0x65, 0x73, 0x74], "štest"],
  ["Windows-1251", [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2], "Привет"],
  ["Windows-1252", [0x80, 0x20, 0x93, 0x71, 0x94], "€ “q”"],
  ["windows-1253", [0xe3, 0xe5, 0xe9, 0xdc], "γειά"],
  ["windows-1254", [0xf0], "ğ"],
  ["Shift_JIS", [0x93, 0xfa, 0x96, 0x7b], "日本"],
  ["GB2312", [0xd6, 0xd0, 0xce, 0xc4], "中文"],
  ["GBK", [0xd6, 0xd0, 0xce, 0xc4], "中文"],
  ["GB18030", [0xd6, 0xd0, 0x81, 0x30, 0x81, 0x30], "中\u0080"],
  ["Big5", [0xa4, 0xa4, 0xa4, 0xe5], "中文"],
  ["EUC-KR", [0xc7, 0xd1, 0xb1, 0xb9], "한국"],
  ["ks_c_5601-1987", [0xc7, 0xd1, 0xb1, 0xb9], "한국"],
  ["ISO-2022-JP", [0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x1b, 0x28, 0x42], "日本"],
  ["KOI8-R", [0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4], "Привет"],
];

for (const [charset, bytes, text] of SAMPLES) {
  Deno.test(`decodeText() reads a ${charset} body`, () => {
    const message = crlf(
      `Content-Type: text/plain; charset="${charset}"\nContent-Transfer-Encoding: quoted-printable\n\n${
        hexEscape(bytes)
      }`,
    );
    assert.equal(decodeText(parseMessage(message)), text);
  });

  Deno.test(`decodeHeaderValue() reads ${charset} encoded words`, () => {
    assert.equal(decodeHeaderValue(`Re: =?${charset}?Q?${hexEscape(bytes)}?=`), `Re: ${text}`);
  });
}

Deno.test("normalizeCharset() maps legacy spellings to WHATWG labels", () => {
  assert.equal(normalizeCharset(' "CP1252" '), "windows-1252");
  assert.equal(normalizeCharset("win1251"), "windows-1251");
  assert.equal(normalizeCharset("ISO8859-2"), "iso-8859-2");
  assert.equal(normalizeCharset("iso_8859-15:1998"), "iso-8859-15");
  assert.equal(normalizeCharset("UTF8"), "utf-8");
  assert.equal(normalizeCharset("utf-8*en"), "utf-8");
  assert.equal(normalizeCharset("cp932"), "shift_jis");
  assert.equal(normalizeCharset("constructor"), "constructor");
});

Deno.test("decodeCharset() falls back to UTF-8 or Windows-1252 for unknown labels", () => {
  assert.equal(decodeCharset(new Uint8Array([0xc3, 0xa9]), "x-unknown-charset"), "é");
  assert.equal(decodeCharset(new Uint8Array([0xe9]), "x-unknown-charset"), "é");
  assert.equal(decodeCharset(new Uint8Array([0xe9]), "utf-7"), "é");
  assert.equal(decodeCharset(new Uint8Array([0xe9]), undefined), "é");
});

Deno.test("decodeCharset() reads 8-bit UTF-8 declared as US-ASCII", () => {
  assert.equal(decodeCharset(new Uint8Array([0xc3, 0xbc]), "us-ascii"), "ü");
});

Deno.test("decodeCharset() replaces invalid UTF-8 instead of throwing", () => {
  assert.equal(decodeCharset(new Uint8Array([0x61, 0xff]), "utf-8"), "a\ufffd");
});

Deno.test("decodeText() uses the charset an HTML body names in its meta element", () => {
  const html = (meta: string) =>
    parseMessage(
      new Uint8Array([
        ...crlf(`Content-Type: text/html\n\n<html><head>${meta}</head><body>`),
        0xcf,
        0xf0,
        0xe8,
      ]),
    );
  assert.equal(decodeText(html('<meta charset="windows-1251">')).slice(-3), "При");
  assert.equal(
    decodeText(html('<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">')).slice(-3),
    "оПХ",
  );
  assert.equal(decodeText(html("")).slice(-3), "Ïðè");
});
