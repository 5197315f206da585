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
      dataSent: false,
      dataWritten: false,
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

/** A store on disk used by one run of the box, then (after it died) by the next one. */
async function acrossRestart(before: (store: Store) => void, after: (store: Store) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-sent-" });
  try {
    const first = Store.open(`${dir}/db.sqlite`);
    before(first);
    first.close();
    const second = Store.open(`${dir}/db.sqlite`);
    try {
      after(second);
    } finally {
      second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sentMail.claim() hands a claim left by an earlier run of the box over at once (crash mid-send)", async () => {
  await acrossRestart(
    (before) => {
      assert.deepEqual(before.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000), { kind: "claimed" });
      // The process dies here: no markSent, no release.
    },
    (after) => {
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2000), {
        kind: "stale",
        messageId: "<m1@x>",
        dataSent: false,
        dataWritten: false,
      });
      // The retry that took it over is now this process's own attempt: a third one waits.
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2500), { kind: "in-flight" });
    },
  );
});

Deno.test("sentMail records the end of the data: a crash after it leaves a stale claim that says so", async () => {
  await acrossRestart(
    (before) => {
      before.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
      before.sentMail.markDataSent("alice", "k1", 1001);
      assert.equal(before.sentMail.stateOf("alice", "k1"), "data-sent");
    },
    (after) => {
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2000), {
        kind: "stale",
        messageId: "<m1@x>",
        dataSent: true,
        dataWritten: false,
      });
      // Taken over, the record still says an earlier attempt may have been accepted.
      assert.equal(after.sentMail.stateOf("alice", "k1"), "data-sent");
      after.sentMail.markSent("alice", "k1", 2001);
      after.sentMail.markDataSent("alice", "k1", 2002);
      assert.equal(after.sentMail.stateOf("alice", "k1"), "sent", "a sent record never goes back");
    },
  );
});

Deno.test("sentMail records that the end of the data was written: a crash after it leaves a claim that says the server has it", async () => {
  await acrossRestart(
    (before) => {
      before.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
      before.sentMail.markDataSent("alice", "k1", 1001);
      before.sentMail.markDataWritten("alice", "k1", 1002);
      assert.equal(before.sentMail.stateOf("alice", "k1"), "data-written");
    },
    (after) => {
      assert.deepEqual(after.sentMail.claim("alice", "k1", "d1", "<m1@x>", 2000), {
        kind: "stale",
        messageId: "<m1@x>",
        dataSent: true,
        dataWritten: true,
      });
      after.sentMail.markSent("alice", "k1", 2001);
      after.sentMail.markDataWritten("alice", "k1", 2002);
      assert.equal(after.sentMail.stateOf("alice", "k1"), "sent", "a sent record never goes back");
    },
  );
});

Deno.test("sentMail.abandon() after the end was written goes back to data-sent: a broken link may have lost it", () => {
  const store = Store.open(":memory:");
  try {
    store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
    store.sentMail.markDataSent("alice", "k1", 1001);
    store.sentMail.markDataWritten("alice", "k1", 1002);
    store.sentMail.abandon("alice", "k1");
    assert.equal(store.sentMail.stateOf("alice", "k1"), "data-sent");
  } finally {
    store.close();
  }
});

Deno.test("sentMail.abandon() leaves an unconfirmed attempt for the next retry at once; release() forgets a refused one", () => {
  const store = Store.open(":memory:");
  try {
    store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1000);
    store.sentMail.markDataSent("alice", "k1", 1001);
    store.sentMail.abandon("alice", "k1");
    assert.deepEqual(store.sentMail.claim("alice", "k1", "d1", "<m1@x>", 1002), {
      kind: "stale",
      messageId: "<m1@x>",
      dataSent: true,
      dataWritten: false,
    });
    // The server answered with a refusal after the end of the data: nothing was sent.
    store.sentMail.release("alice", "k1");
    assert.equal(store.sentMail.stateOf("alice", "k1"), undefined);
  } finally {
    store.close();
  }
});

Deno.test("migration 008 keeps sent records and treats an earlier schema's unfinished claim as possibly accepted", async () => {
  const { Database } = await import("../../src/store/database.ts");
  const { MIGRATIONS } = await import("../../src/store/migrations/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-sent-" });
  try {
    const old = Database.open(`${dir}/db.sqlite`, MIGRATIONS.filter((m) => m.version <= 7));
    for (const [key, state] of [["k1", "submitting"], ["k2", "sent"]]) {
      old.run(
        `INSERT INTO sent_mail (user, dedup_key, mime_digest, message_id, state, created, updated)
         VALUES ('alice', ?, 'd', '<m@x>', ?, 1, 1)`,
        key!,
        state!,
      );
    }
    old.close();
    const store = Store.open(`${dir}/db.sqlite`);
    try {
      assert.equal(store.sentMail.stateOf("alice", "k1"), "data-sent");
      assert.equal(store.sentMail.stateOf("alice", "k2"), "sent");
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
