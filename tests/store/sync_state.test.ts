import assert from "node:assert/strict";
import { Store } from "../../src/store/mod.ts";

function setup() {
  const store = Store.open(":memory:");
  const device = store.devices.sighted({
    user: "alice",
    deviceId: "D1",
    deviceType: "iPhone",
    userAgent: "",
    protocolVersion: "16.1",
  }).id;
  const state = (generation: number) => ({
    epoch: "{e}",
    generation,
    cursor: "",
    pending: false,
    options: "",
    replay: "",
  });
  return { store, device, state, repo: store.syncState };
}

Deno.test("SyncStateRepository.commit() writes state, items and ClientIds together and reads them back", () => {
  const { device, state, repo } = setup();
  repo.commit(device, "3", {
    state: state(2),
    upserts: [{ id: "7", token: "\\seen", date: 5, failed: false }, {
      id: "8",
      token: "",
      date: 6,
      failed: true,
    }],
    removes: [],
    clientIds: [{ clientId: "c1", itemId: "7" }],
  });
  assert.equal(repo.collection(device, "3")?.generation, 2);
  assert.deepEqual([...repo.items(device, "3").values()].map((i) => [i.id, i.failed]), [["7", false], [
    "8",
    true,
  ]]);
  assert.equal(repo.itemForClientId(device, "3", "c1"), "7");
  repo.commit(device, "3", { state: state(3), upserts: [], removes: ["8"], clientIds: [] });
  assert.deepEqual([...repo.items(device, "3").keys()], ["7"]);
});

Deno.test("SyncStateRepository.commit() rolls back everything when one write fails", () => {
  const { device, state, repo } = setup();
  assert.throws(() =>
    repo.commit(device, "3", {
      state: state(2),
      // A NULL token violates NOT NULL: the state row must not land either.
      upserts: [{ id: "7", token: null as unknown as string, date: 5, failed: false }],
      removes: [],
      clientIds: [],
    })
  );
  assert.equal(repo.collection(device, "3"), undefined);
});

Deno.test("itemMoved() moves the device's record to the destination collection it synced", () => {
  const { device, state, repo } = setup();
  repo.commit(device, "3", {
    state: state(2),
    upserts: [{ id: "7", token: "t", date: 5, failed: false }],
    removes: [],
    clientIds: [],
  });
  repo.commit(device, "4", { state: state(2), upserts: [], removes: [], clientIds: [] });
  repo.itemMoved(device, { collection: "3", id: "7" }, { collection: "4", id: "12" });
  assert.equal(repo.items(device, "3").size, 0);
  assert.deepEqual(repo.items(device, "4").get("12"), { id: "12", token: "t", date: 5, failed: false });
  repo.itemMoved(device, { collection: "4", id: "12" }, { collection: "9", id: "1" });
  assert.equal(repo.items(device, "9").size, 0, "a collection never synced is left alone");
});
