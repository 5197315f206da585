import assert from "node:assert/strict";
import { Hono } from "hono";
import { Authenticator, LOCKOUT } from "../../src/http/auth.ts";
import { createAutodiscover } from "../../src/http/autodiscover.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { Store } from "../../src/store/mod.ts";

Deno.test("password guessing through Autodiscover locks the client address, as on the EAS endpoint", async () => {
  const store = Store.open(":memory:");
  let asked = 0;
  const auth = new Authenticator((c) => {
    asked++;
    return Promise.resolve(c.user === "alice" && c.password === "right" ? "ok" : "denied");
  }, { minDenyMs: 0 });
  const app = new Hono();
  app.use("*", createAutodiscover({ auth, settings: store.settings, log: silentLogger }));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}/autodiscover/autodiscover.xml`;
  const post = async (user: string, password: string) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { Authorization: "Basic " + btoa(`${user}:${password}`) },
      body: "<Autodiscover/>",
    });
    await response.body?.cancel();
    return response.status;
  };
  try {
    // Many user names, one wrong password each: no single name reaches its own lockout.
    for (let i = 0; i < LOCKOUT.ipFailures; i++) assert.equal(await post(`guess${i}`, "wrong"), 401);
    const before = asked;
    // Now even the right password from that address is refused without asking the mailstore.
    assert.equal(await post("alice", "right"), 401);
    assert.equal(asked, before);
  } finally {
    await server.shutdown();
    store.close();
  }
});
