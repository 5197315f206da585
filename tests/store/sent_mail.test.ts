import assert from "node:assert/strict";
import { Store, SUBMITTING_STALE_MS } from "../../src/store/mod.ts";

Deno.test("sentMail.claim() lets the first attempt submit and reports a finished one as sent", () => {
  const store = Store.open(":memory:");
  try {
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000), { kind: "claimed" });
    assert.equal(store.sentMail.stateOf("alice", "k1"), "submitting");
    store.sentMail.markSent("alice", "k1", 2000);
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 3000), {
      kind: "sent",
      sameMessage: true,
      messageId: "<m1@x>",
    });
    assert.deepEqual(store.sentMail.claim("alice", "k1", "other", "<m2@x>", 3000), {
      kind: "sent",
      sameMessage: false,
      messageId: "<m1@x>",
    });
  } finally {
    store.close();
  }
});

Deno.test("sentMail.claim() keys are per user", () => {
  const store = Store.open(":memory:");
  try {
    store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
    store.sentMail.markSent("alice", "k1", 1000);
    assert.deepEqual(store.sentMail.claim("bob", "k1", "d1", "<m1@x>", 1000), { kind: "claimed" });
  } finally {
    store.close();
  }
});

Deno.test("sentMail.claim() blocks a concurrent retry, then hands a stale claim over once", () => {
  const store = Store.open(":memory:");
  try {
    store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000 + SUBMITTING_STALE_MS - 1), {
      kind: "in-flight",
    });
    const later = 1000 + SUBMITTING_STALE_MS + 5;
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", later), {
      kind: "stale",
      messageId: "<m1@x>",
    });
    // The take-over refreshed the record: a third attempt right after waits.
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", later + 1), { kind: "in-flight" });
  } finally {
    store.close();
  }
});

Deno.test("sentMail.release() forgets a failed attempt so the retry submits again", () => {
  const store = Store.open(":memory:");
  try {
    store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
    store.sentMail.release("alice", "k1");
    assert.equal(store.sentMail.stateOf("alice", "k1"), undefined);
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1001), { kind: "claimed" });
    store.sentMail.markSent("alice", "k1");
    // A sent record is never released.
    store.sentMail.release("alice", "k1");
    assert.equal(store.sentMail.stateOf("alice", "k1"), "sent");
  } finally {
    store.close();
  }
});

Deno.test("sentMail.claim() hands a claim left by an earlier run of the box over at once (crash mid-send)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-sent-" });
  try {
    const before = Store.open(`${dir}/db.sqlite`);
    assert.deepEqual(before.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000), { kind: "claimed" });
    // The process dies here: no markSent, no release.
    before.close();
    const after = Store.open(`${dir}/db.sqlite`);
    try {
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2000), {
        kind: "stale",
        messageId: "<m1@x>",
      });
      // The retry that took it over is now this process's own attempt: a third one waits.
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2500), { kind: "in-flight" });
    } finally {
      after.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
