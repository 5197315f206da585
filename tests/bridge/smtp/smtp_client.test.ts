import assert from "node:assert/strict";
import {
  SmtpAuthError,
  SmtpConnectionError,
  SmtpMessageTooLargeError,
  SmtpRecipientError,
  SmtpUnconfirmedError,
} from "../../../src/bridge/smtp/errors.ts";
import { submitMessage, type SubmitOptions } from "../../../src/bridge/smtp/smtp_client.ts";
import { SmtpSubmitter } from "../../../src/bridge/smtp/smtp_submitter.ts";
import { SubmissionError } from "../../../src/backend/submission.ts";
import { buildMessage, headerEnvelope } from "../../../src/mime/mod.ts";
import { imapCommand } from "../../harness/imap_peek.ts";
import { type Mailstore, startMailstore } from "../../harness/mod.ts";

/** Polls bob's INBOX until a message with the subject arrives (Postfix delivers asynchronously). */
async function waitForSubject(store: Mailstore, user: string, subject: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const transcript = await imapCommand(store, user, ["SELECT INBOX", `UID SEARCH SUBJECT "${subject}"`]);
    const uid = /\* SEARCH (\d+)/.exec(transcript)?.[1];
    if (uid) return await imapCommand(store, user, ["SELECT INBOX", `UID FETCH ${uid} BODY.PEEK[]`]);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`No message with subject "${subject}" arrived for "${user}"`);
}

function options(store: Mailstore, overrides: Partial<SubmitOptions> = {}): SubmitOptions {
  const alice = store.users[0]!;
  return {
    url: store.smtpUrl,
    tls: { caCerts: [store.caPem] },
    user: alice.name,
    password: alice.password,
    from: alice.email,
    recipients: [store.users[1]!.email],
    message: new TextEncoder().encode(
      `From: ${alice.email}\r\nTo: bob@example.test\r\nSubject: x\r\n\r\nx\r\n`,
    ),
    timeoutMs: 10_000,
    ...overrides,
  };
}

Deno.test("submitMessage() against Dovecot submission relaying to Postfix", async (t) => {
  const store = await startMailstore({ sieve: false });
  try {
    await t.step("a message from alice to bob arrives in bob's INBOX with dots and Bcc handled", async () => {
      const subject = `Grüße ${crypto.randomUUID().slice(0, 8)}`;
      const built = buildMessage({
        from: { name: "Alice", address: "alice@example.test" },
        to: [{ name: "Bob", address: "bob@example.test" }],
        bcc: [{ name: "", address: "carol@example.test" }],
        subject,
        text: "first line\n.leading dot\n..two dots\nend",
      });
      const envelope = headerEnvelope(built);
      assert.deepEqual(envelope.recipients, ["bob@example.test", "carol@example.test"]);
      const result = await submitMessage(options(store, {
        recipients: envelope.recipients,
        message: envelope.message,
      }));
      assert.match(result.response, /^250 /);
      const transcript = await waitForSubject(store, "bob", subject.slice(-8));
      assert.match(transcript, /\r\n\.leading dot\r\n\.\.two dots\r\nend/);
      assert.doesNotMatch(transcript, /^Bcc:/im);
      assert.match(await waitForSubject(store, "carol", subject.slice(-8)), /first line/);
    });

    await t.step("an unknown local recipient is an SmtpRecipientError listing it", async () => {
      await assert.rejects(
        submitMessage(options(store, { recipients: ["bob@example.test", "nobody@example.test"] })),
        (error: unknown) => {
          assert.ok(error instanceof SmtpRecipientError);
          assert.deepEqual(error.rejected.map((entry) => [entry.recipient, Math.floor(entry.code / 100)]), [
            ["nobody@example.test", 5],
          ]);
          return true;
        },
      );
    });

    await t.step("a message over the relay's size limit is an SmtpMessageTooLargeError", async () => {
      // Postfix's default message_size_limit is 10240000 bytes.
      const big = new Uint8Array(11 * 1024 * 1024).fill(0x61);
      for (let i = 76; i < big.length; i += 78) big.set([13, 10], i);
      const message = new Uint8Array([...new TextEncoder().encode("Subject: big\r\n\r\n"), ...big]);
      await assert.rejects(submitMessage(options(store, { message })), SmtpMessageTooLargeError);
    });

    await t.step(
      "SmtpSubmitter submits with the user's credentials and reports failures by kind",
      async () => {
        const submitter = new SmtpSubmitter({
          url: store.smtpUrl,
          caCerts: [store.caPem],
          timeoutMs: 10_000,
        });
        const subject = `via submitter ${crypto.randomUUID().slice(0, 8)}`;
        const message = new TextEncoder().encode(
          `From: carol@example.test\r\nSubject: ${subject}\r\n\r\nhi\r\n`,
        );
        const envelope = { from: "carol@example.test", recipients: ["bob@example.test"] };
        const receipt = await submitter.submit(
          { user: "carol", password: "carol-secret" },
          envelope,
          message,
        );
        assert.match(receipt.response, /^250 /);
        await waitForSubject(store, "bob", subject.slice(-8));
        await assert.rejects(
          submitter.submit({ user: "carol", password: "wrong" }, envelope, message),
          (error: unknown) => error instanceof SubmissionError && error.failure === "auth",
        );
      },
    );

    await t.step("a message over the announced SIZE is refused before it is sent", async () => {
      // Postfix (the relay behind Dovecot) announces "SIZE 10240000"; Dovecot announces SIZE without a value.
      const message = new Uint8Array(10_300_000).fill(0x62);
      const started = Date.now();
      await assert.rejects(
        submitMessage(options(store, { url: `smtp://127.0.0.1:${store.smtpRelayPort}`, message })),
        (error: unknown) => {
          assert.ok(error instanceof SmtpMessageTooLargeError);
          assert.equal(error.limit, 10240000);
          assert.equal(error.code, undefined);
          assert.match(
            error.message,
            /^Message of \d+ bytes exceeds the limit of 10240000 bytes of SMTP server /,
          );
          return true;
        },
      );
      assert.ok(Date.now() - started < 2_000);
    });

    await t.step("an untrusted certificate fails STARTTLS with SmtpConnectionError", async () => {
      await assert.rejects(
        submitMessage(options(store, { tls: {} })),
        (error: unknown) => error instanceof SmtpConnectionError && /TLS/i.test(error.message),
      );
    });
    // Last: Dovecot delays logins from an address after a failed one (auth penalty).
    await t.step("a wrong password is an SmtpAuthError with code 535", async () => {
      await assert.rejects(submitMessage(options(store, { password: "wrong" })), (error: unknown) => {
        assert.ok(error instanceof SmtpAuthError);
        assert.equal(error.code, 535);
        return true;
      });
    });
  } finally {
    await store.stop();
  }
});

Deno.test("submitMessage() reports a refused connection as SmtpConnectionError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(
    submitMessage({
      url: `smtp://127.0.0.1:${port}`,
      user: "u",
      password: "p",
      from: "a@x.test",
      recipients: ["b@x.test"],
      message: new Uint8Array(),
      timeoutMs: 2_000,
    }),
    SmtpConnectionError,
  );
});

Deno.test("submitMessage() gives up on a silent server after timeoutMs with SmtpConnectionError", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept();
  try {
    const started = Date.now();
    await assert.rejects(
      submitMessage({
        url: `smtp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
        user: "u",
        password: "p",
        from: "a@x.test",
        recipients: ["b@x.test"],
        message: new Uint8Array(),
        timeoutMs: 300,
      }),
      (error: unknown) =>
        error instanceof SmtpConnectionError &&
        /did not answer with a greeting within 300 ms/.test(error.message),
    );
    assert.ok(Date.now() - started < 2_000);
  } finally {
    (await accepted).close();
    listener.close();
  }
});

/**
 * A scripted SMTP peer on loopback for what a real server cannot be made to do on cue (a
 * connection that breaks right after the end of the data). It records what it received.
 */
function scriptedPeer(afterData: "accept" | "drop") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let received = "";
  const served = (async () => {
    const conn = await listener.accept();
    const encoder = new TextEncoder();
    const say = (line: string) => conn.write(encoder.encode(`${line}\r\n`));
    const buffer = new Uint8Array(4096);
    let pending = "";
    let inData = false;
    await say("220 peer ESMTP");
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) return;
        const text = new TextDecoder().decode(buffer.subarray(0, n));
        received += text;
        pending += text;
        if (inData) {
          if (!pending.endsWith("\r\n.\r\n")) continue;
          inData = false;
          pending = "";
          if (afterData === "drop") return;
          await say("250 2.0.0 Ok: queued as PEER1");
          continue;
        }
        while (pending.includes("\r\n")) {
          const line = pending.slice(0, pending.indexOf("\r\n"));
          pending = pending.slice(line.length + 2);
          const verb = line.split(" ")[0]!.toUpperCase();
          if (verb === "EHLO") await say("250-peer\r\n250 AUTH PLAIN");
          else if (verb === "AUTH") await say("235 2.7.0 Ok");
          else if (verb === "DATA") {
            await say("354 End data with <CR><LF>.<CR><LF>");
            inData = true;
          } else if (verb === "QUIT") {
            await say("221 2.0.0 Bye");
            return;
          } else await say("250 2.0.0 Ok");
        }
      }
    } finally {
      conn.close();
    }
  })();
  return {
    url: `smtp://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    received: () => received,
    async close() {
      await served.catch(() => undefined);
      listener.close();
    },
  };
}

const PEER_MESSAGE = {
  user: "u",
  password: "p",
  from: "a@x.test",
  recipients: ["b@x.test"],
  message: new TextEncoder().encode("Subject: s\r\n\r\nbody\r\n"),
  timeoutMs: 5_000,
};

Deno.test("submitMessage() tells its caller right before the end of the data and on acceptance, before QUIT", async () => {
  const peer = scriptedPeer("accept");
  const seen: string[] = [];
  try {
    const result = await submitMessage({
      ...PEER_MESSAGE,
      url: peer.url,
      onDataEnd: () => {
        // The end of the data has not been written: the server cannot have accepted anything yet.
        assert.doesNotMatch(peer.received(), /\r\n\.\r\n/);
        seen.push("data-end");
      },
      onDataWritten: () => {
        assert.doesNotMatch(peer.received(), /QUIT/);
        seen.push("data-written");
      },
      onAccepted: (r) => {
        assert.doesNotMatch(peer.received(), /QUIT/, "recorded before anything else is sent");
        seen.push(`accepted ${r.queuedAs}`);
      },
    });
    assert.equal(result.queuedAs, "PEER1");
  } finally {
    await peer.close();
  }
  assert.deepEqual(seen, ["data-end", "data-written", "accepted PEER1"]);
  assert.match(peer.received(), /\r\n\.\r\nQUIT\r\n$/);
});

Deno.test("submitMessage() reports a connection lost after the end of the data as SmtpUnconfirmedError", async () => {
  const peer = scriptedPeer("drop");
  let accepted = false;
  try {
    await assert.rejects(
      submitMessage({ ...PEER_MESSAGE, url: peer.url, onAccepted: () => (accepted = true) }),
      (error: unknown) =>
        error instanceof SmtpUnconfirmedError && /may have accepted the message/.test(error.message),
    );
  } finally {
    await peer.close();
  }
  assert.equal(accepted, false);
  const submitter = new SmtpSubmitter({ url: "smtp://127.0.0.1:1" });
  const peer2 = scriptedPeer("drop");
  try {
    await assert.rejects(
      new SmtpSubmitter({ url: peer2.url, timeoutMs: 5_000 }).submit(
        { user: "u", password: "p" },
        { from: "a@x.test", recipients: ["b@x.test"] },
        PEER_MESSAGE.message,
      ),
      (error: unknown) => error instanceof SubmissionError && error.failure === "unconfirmed",
    );
  } finally {
    await peer2.close();
  }
  // A connection that never got that far stays a plain "temporary" failure: nothing was sent.
  await assert.rejects(
    submitter.submit(
      { user: "u", password: "p" },
      { from: "a@x.test", recipients: ["b@x.test"] },
      PEER_MESSAGE.message,
    ),
    (error: unknown) => error instanceof SubmissionError && error.failure === "temporary",
  );
});

Deno.test("submitMessage() refuses bad URLs and addresses before connecting", async () => {
  const base = {
    user: "u",
    password: "p",
    from: "a@x.test",
    recipients: ["b@x.test"],
    message: new Uint8Array(),
  };
  await assert.rejects(submitMessage({ ...base, url: "http://x" }), /Unsupported SMTP URL scheme "http:"/);
  await assert.rejects(submitMessage({ ...base, url: "not a url" }), /Invalid SMTP URL "not a url"/);
  await assert.rejects(
    submitMessage({ ...base, url: "smtp://127.0.0.1:1", recipients: [] }),
    /No recipients/,
  );
  await assert.rejects(
    submitMessage({ ...base, url: "smtp://127.0.0.1:1", recipients: ["x@y>\r\nDATA"] }),
    /Invalid address/,
  );
});
