import assert from "node:assert/strict";
import { probeImap, probeLdap, probeSmtp } from "../../src/setup/_probes.ts";
import { freePorts } from "../harness/free_port.ts";
import { startMailstore } from "../harness/mod.ts";

Deno.test({
  name:
    "probes name what failed: unknown CA, unknown host, refused SMTP login; a good IMAP login lists capabilities",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const mailstore = await startMailstore({ postfix: false, sieve: false });
    const alice = mailstore.users[0]!;
    try {
      const untrusted = await probeImap({
        url: mailstore.imapsUrl,
        user: alice.name,
        password: alice.password,
      });
      assert.equal(untrusted.ok, false);
      assert.match(untrusted.steps.at(-1)!.detail, /not trusted \(unknown issuer\)/);

      const good = await probeImap({
        url: mailstore.imapsUrl,
        user: alice.name,
        password: alice.password,
        caCerts: [mailstore.caPem],
      });
      assert.equal(good.ok, true, JSON.stringify(good.steps));
      assert.deepEqual(good.steps.find((s) => s.step === "Capability IDLE")?.status, "ok");

      const nowhere = await probeSmtp({
        url: "smtp://no-such-host.invalid",
        user: "a",
        password: "b",
        timeoutMs: 3000,
      });
      assert.equal(nowhere.ok, false);
      assert.equal(nowhere.steps[0]!.step, "DNS");
      assert.match(nowhere.steps[0]!.detail, /'no-such-host\.invalid' does not resolve|cannot be looked up/);

      const refused = await probeSmtp({
        url: mailstore.smtpUrl,
        user: alice.name,
        password: "wrong",
        caCerts: [mailstore.caPem],
      });
      assert.equal(refused.ok, false);
      assert.match(refused.steps.at(-1)!.detail, /Login refused for 'alice': '535/);

      const [closed] = freePorts(1);
      const ldap = await probeLdap({ url: `ldap://127.0.0.1:${closed}` });
      assert.equal(ldap.ok, false);
      assert.match(ldap.steps.at(-1)!.detail, new RegExp(`refused: nothing listens on port ${closed}`));
      const badScheme = await probeLdap({ url: "http://127.0.0.1" });
      assert.match(badScheme.steps[0]!.detail, /Scheme 'http' is not one of ldap, ldaps/);
    } finally {
      await mailstore.stop();
    }
  },
});
