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
  });
  assert.equal((await auth.authenticate(basic("alice", "right"))).kind, "ok");
  assert.equal((await auth.authenticate(basic("alice", "right"))).kind, "ok");
  assert.equal(calls.length, 1);
  assert.equal((await auth.authenticate(basic("alice", "wrong"))).kind, "denied");
  assert.equal(calls.length, 2);
  assert.equal((await auth.authenticate(null)).kind, "missing");
  assert.equal((await auth.authenticate(basic("alice", ""))).kind, "denied");
});
