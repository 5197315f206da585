import assert from "node:assert/strict";
import { formatAddress, formatAddressList, parseAddressList } from "../../src/mime/mod.ts";

Deno.test("parseAddressList() reads names, quoted names, comments and bare addresses", () => {
  assert.deepEqual(
    parseAddressList(
      'Alice Example <alice@example.test>, "Doe, John" <john@example.test>, bob@example.test (Bob B.)',
    ),
    [
      { name: "Alice Example", address: "alice@example.test" },
      { name: "Doe, John", address: "john@example.test" },
      { name: "Bob B.", address: "bob@example.test" },
    ],
  );
});

Deno.test("parseAddressList() flattens groups and skips empty ones", () => {
  assert.deepEqual(parseAddressList("undisclosed-recipients:;"), []);
  assert.deepEqual(parseAddressList("Team: a@x.test, B <b@x.test>; c@x.test"), [
    { name: "", address: "a@x.test" },
    { name: "B", address: "b@x.test" },
    { name: "", address: "c@x.test" },
  ]);
});

Deno.test("parseAddressList() decodes RFC 2047 names and escaped quotes", () => {
  assert.deepEqual(parseAddressList("=?UTF-8?Q?J=C3=BCrgen?= =?UTF-8?Q?_M=C3=BCller?= <jm@x.test>"), [
    { name: "Jürgen Müller", address: "jm@x.test" },
  ]);
  assert.deepEqual(parseAddressList('"Say \\"hi\\"" <hi@x.test>'), [{
    name: 'Say "hi"',
    address: "hi@x.test",
  }]);
});

Deno.test("parseAddressList() tolerates bad input", () => {
  assert.deepEqual(parseAddressList(""), []);
  assert.deepEqual(parseAddressList(",,, <a@x.test"), [{ name: "", address: "a@x.test" }]);
  assert.deepEqual(parseAddressList("Only A Name"), [{ name: "", address: "OnlyAName" }]);
  assert.deepEqual(parseAddressList("<@relay.test:user@x.test>"), [{ name: "", address: "user@x.test" }]);
  assert.deepEqual(parseAddressList('"unterminated <u@x.test>'), [{
    name: "unterminated",
    address: "u@x.test",
  }]);
  assert.deepEqual(parseAddressList("a@x.test (unclosed comment"), [{
    name: "unclosed comment",
    address: "a@x.test",
  }]);
});

Deno.test("formatAddress() quotes or encodes names only when needed", () => {
  assert.equal(formatAddress({ name: "", address: "a@x.test" }), "a@x.test");
  assert.equal(formatAddress({ name: "Alice Example", address: "a@x.test" }), "Alice Example <a@x.test>");
  assert.equal(formatAddress({ name: "Doe, John", address: "j@x.test" }), '"Doe, John" <j@x.test>');
  assert.equal(formatAddress({ name: 'Say "hi"', address: "h@x.test" }), '"Say \\"hi\\"" <h@x.test>');
  assert.equal(formatAddress({ name: "Jürgen", address: "j@x.test" }), "=?UTF-8?B?SsO8cmdlbg==?= <j@x.test>");
});

Deno.test("formatAddressList() output parses back to the same addresses", () => {
  const list = [
    { name: "Doe, John", address: "j@x.test" },
    { name: "Łukasz Żółw", address: "l@x.test" },
    { name: "", address: "plain@x.test" },
  ];
  assert.deepEqual(parseAddressList(formatAddressList(list)), list);
});
