import assert from "node:assert/strict";
import type { Credentials } from "../../src/backend/types.ts";
import { Authenticator, normalizeUserName, parseBasicAuth } from "../../src/http/auth.ts";

const basic = (user: string, password: string) =>
  "Basic " + btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)));

Deno.test("parseBasicAuth() reads UTF-8 credentials and rejects other schemes", () => {
  assert.deepEqual(parseBasicAuth(basic("jürgen", "pä:ss")), { user: "jürgen", password: "pä:ss" });
  assert.equal(parseBasicAuth("Bearer abc"), undefined);
  assert.equal(parseBasicAuth("Basic !!!"), undefined);
  assert.equal(parseBasicAuth(null), undefined);
});

Deno.test("normalizeUserName() accepts user, user@domain and DOMAIN\\user", () => {
  assert.equal(normalizeUserName("Alice"), "alice");
  assert.equal(normalizeUserName("alice@Example.test"), "alice@example.test");
  assert.equal(normalizeUserName("OFFICE\\Alice"), "alice");
});

Deno.test("Authenticator caches a verified login and asks again for another password", async () => {
  const calls: Credentials[] = [];
  const auth = new Authenticator((c) => {
    calls.push(c);
    return Promise.resolve(c.password === "right" ? "ok" : "denied");
  }, { minDenyMs: 0 });
  assert.equal((await auth.authenticate(basic("alice", "right"))).kind, "ok");
  assert.equal((await auth.authenticate(basic("alice", "right"))).kind, "ok");
  assert.equal(calls.length, 1);
  assert.equal((await auth.authenticate(basic("alice", "wrong"))).kind, "denied");
  assert.equal(calls.length, 2);
  assert.equal((await auth.authenticate(null)).kind, "missing");
  assert.equal((await auth.authenticate(basic("alice", ""))).kind, "denied");
});

Deno.test("Authenticator locks a user out after repeated failures without asking the mailstore", async () => {
  let now = 1_000_000;
  let checks = 0;
  const auth = new Authenticator((c) => {
    checks++;
    return Promise.resolve(c.password === "right" ? "ok" : "denied");
  }, { now: () => now, minDenyMs: 0 });
  for (let i = 0; i < 5; i++) {
    assert.equal((await auth.authenticate(basic("bob", `guess${i}`), "10.0.0.9")).kind, "denied");
  }
  assert.equal(checks, 5);
  assert.ok(auth.isLockedOut("bob"));
  assert.equal(
    (await auth.authenticate(basic("bob", "right"), "10.0.0.9")).kind,
    "denied",
    "locked even with the right password",
  );
  assert.equal(checks, 5, "the mailstore is not asked while locked");
  now += 31_000;
  assert.equal((await auth.authenticate(basic("bob", "right"), "10.0.0.9")).kind, "ok", "the lock expires");
  assert.ok(!auth.isLockedOut("bob"));
});

Deno.test("Authenticator locks a client address that tries many user names", async () => {
  const auth = new Authenticator((c) => Promise.resolve(c.user === "fresh" ? "ok" : "denied"), {
    minDenyMs: 0,
  });
  for (let i = 0; i < 20; i++) await auth.authenticate(basic(`user${i}`, "x"), "192.0.2.7");
  assert.equal(
    (await auth.authenticate(basic("fresh", "x"), "192.0.2.7")).kind,
    "denied",
    "the address is locked",
  );
  assert.equal(
    (await auth.authenticate(basic("fresh", "x"), "192.0.2.8")).kind,
    "ok",
    "other addresses are not",
  );
});

Deno.test("Authenticator makes a refusal take the minimum time", async () => {
  const auth = new Authenticator(() => Promise.resolve("denied"), { minDenyMs: 60 });
  const started = performance.now();
  assert.equal((await auth.authenticate(basic("carol", "x"))).kind, "denied");
  assert.ok(performance.now() - started >= 55);
});
