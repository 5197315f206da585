import assert from "node:assert/strict";
import fc from "fast-check";
import { Authenticator, normalizeUserName, parseBasicAuth } from "../../src/http/auth.ts";
import { fuzzParams, timed } from "./_runs.ts";

const b64utf8 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

Deno.test("parseBasicAuth() of any header never throws and reads back every user:password it was given", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 100 }).map((s) => `Basic ${s}`),
        fc.string({ maxLength: 100 }).map((s) => `Basic ${b64utf8(s)}`),
      ),
      (header) => {
        const parsed = timed("parseBasicAuth()", () => parseBasicAuth(header));
        if (parsed) assert.equal(typeof parsed.user + typeof parsed.password, "stringstring");
      },
    ),
    fuzzParams(),
  );
  fc.assert(
    fc.property(
      fc.string({ maxLength: 60 }).filter((u) => !u.includes(":")),
      fc.string({ maxLength: 60 }),
      fc.constantFrom("Basic ", "basic ", "BASIC  "),
      (user, password, scheme) => {
        // Lone surrogates do not survive UTF-8; compare what the client could actually send.
        const sent = new TextDecoder().decode(new TextEncoder().encode(`${user}:${password}`));
        const parsed = parseBasicAuth(`${scheme}${b64utf8(`${user}:${password}`)}`);
        assert.deepEqual(parsed, {
          user: sent.slice(0, sent.indexOf(":")),
          password: sent.slice(sent.indexOf(":") + 1),
        });
      },
    ),
    fuzzParams(),
  );
});

Deno.test("normalizeUserName() is idempotent and never keeps a domain prefix or case", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), (raw) => {
      const once = normalizeUserName(raw);
      assert.equal(normalizeUserName(once), once);
      assert.ok(!once.includes("\\"));
      assert.equal(once, once.toLowerCase());
    }),
    fuzzParams(),
  );
});

Deno.test("Authenticator.authenticate() of any header answers missing, denied or ok without throwing, and only ok for the right password", async () => {
  const asked: string[] = [];
  const auth = new Authenticator((c) => {
    asked.push(c.user);
    return Promise.resolve(c.user === "alice" && c.password === "right" ? "ok" : "denied");
  }, { minDenyMs: 0 });
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 120 }),
        fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 })).map(([u, p]) =>
          `Basic ${b64utf8(`${u}:${p}`)}`
        ),
        fc.constantFrom("Basic " + b64utf8("ALICE:right"), "Basic " + b64utf8("dom\\alice:wrong")),
      ),
      fc.constantFrom("", "127.0.0.1", "::1"),
      async (header, ip) => {
        const result = await auth.authenticate(header, ip);
        assert.ok(["missing", "denied", "ok"].includes(result.kind), result.kind);
        if (result.kind === "ok") {
          assert.equal(result.user, "alice");
          assert.equal(result.credentials.password, "right");
        }
      },
    ),
    fuzzParams(),
  );
  assert.ok(asked.every((user) => user === normalizeUserName(user)));
});
