import assert from "node:assert/strict";
import {
  decideGate,
  easProvisionDoc,
  type GateInput,
  isNeutral,
  parsePolicyValue,
  parseScope,
  POLICY_ELEMENTS,
  policyFingerprint,
  PolicyValueError,
  resolvePolicy,
  scopeChain,
  wapProvisioningXml,
} from "../../../src/eas/provisioning/mod.ts";
import { childText, elementText } from "../../../src/wbxml/mod.ts";

Deno.test("parsePolicyValue() checks each element's range and rejects unknown keys", () => {
  const cases: [string, string, unknown][] = [
    ["DevicePasswordEnabled", "1", 1],
    ["MinDevicePasswordLength", "16", 16],
    ["MinDevicePasswordLength", "", ""],
    ["MaxDevicePasswordFailedAttempts", "4", 4],
    ["AllowBluetooth", "1", 1],
    ["MaxEmailAgeFilter", "5", 5],
    ["MaxEmailBodyTruncationSize", "-1", -1],
    ["DevicePolicyRefreshInterval", "24", 24],
    ["ApprovedApplicationList", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", [
      "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3",
    ]],
    ["UnapprovedInROMApplicationList", "Camera, Browser", ["Camera", "Browser"]],
  ];
  for (const [key, text, expected] of cases) assert.deepEqual(parsePolicyValue(key, text), expected, key);
  const bad: [string, string, RegExp][] = [
    ["MinDevicePasswordLength", "17", /'17' is out of range 1-16 \(or empty\)/],
    ["MaxDevicePasswordFailedAttempts", "3", /out of range 4-16/],
    ["DevicePasswordEnabled", "2", /must be 0 or 1/],
    ["MaxCalendarAgeFilter", "3", /must be one of 0, 4, 5, 6, 7/],
    ["DevicePasswordHistory", "", /needs a value/],
    ["AllowCamera", "yes", /'yes' is not a whole number/],
    ["ApprovedApplicationList", "abc", /'abc' is not a SHA-1 hash/],
    ["NoSuchPolicy", "1", /Unknown policy setting 'NoSuchPolicy'/],
  ];
  for (const [key, text, message] of bad) assert.throws(() => parsePolicyValue(key, text), message);
  assert.throws(() => parsePolicyValue("AllowWiFi", "7"), PolicyValueError);
});

Deno.test("inheritance resolution: the narrowest scope that sets a key wins, the rest inherits", () => {
  const table: {
    layers: [string, Record<string, number | "">][];
    key: string;
    value: unknown;
    source: string;
  }[] = [
    { layers: [], key: "AllowCamera", value: 1, source: "defaults" },
    { layers: [["box", { AllowCamera: 0 }]], key: "AllowCamera", value: 0, source: "box" },
    {
      layers: [["box", { AllowCamera: 0 }], ["domain:example.test", { AllowCamera: 1 }]],
      key: "AllowCamera",
      value: 1,
      source: "domain:example.test",
    },
    {
      layers: [["box", { MinDevicePasswordLength: 6 }], ["user:alice", {}], ["device:alice/D1", {
        MinDevicePasswordLength: 8,
      }]],
      key: "MinDevicePasswordLength",
      value: 8,
      source: "device:alice/D1",
    },
    {
      layers: [["box", { MinDevicePasswordLength: 6 }], ["user:alice", { MinDevicePasswordLength: "" }]],
      key: "MinDevicePasswordLength",
      value: "",
      source: "user:alice",
    },
    {
      layers: [["box", { DevicePasswordEnabled: 1 }], ["user:alice", { AllowCamera: 0 }]],
      key: "DevicePasswordEnabled",
      value: 1,
      source: "box",
    },
  ];
  for (const row of table) {
    const resolved = resolvePolicy(row.layers.map(([scope, values]) => ({ scope, values })));
    assert.deepEqual(
      resolved.values[row.key as keyof typeof resolved.values],
      row.value,
      JSON.stringify(row),
    );
    assert.equal(resolved.sources[row.key as keyof typeof resolved.sources], row.source);
  }
  assert.ok(isNeutral(resolvePolicy([])));
  assert.ok(
    isNeutral(resolvePolicy([{ scope: "box", values: { DevicePolicyRefreshInterval: 4 } }])),
    "box settings are not sent",
  );
  assert.ok(!isNeutral(resolvePolicy([{ scope: "box", values: { AllowCamera: 0 } }])));
});

Deno.test("scopes parse from their text forms and chain widest first", () => {
  assert.deepEqual(parseScope("box"), { kind: "box" });
  assert.deepEqual(parseScope("domain:Example.TEST"), { kind: "domain", domain: "example.test" });
  assert.deepEqual(parseScope("user:alice"), { kind: "user", user: "alice" });
  assert.deepEqual(parseScope("device:alice@example.test/ABC123"), {
    kind: "device",
    user: "alice@example.test",
    deviceId: "ABC123",
  });
  for (const bad of ["", "boxes", "domain:", "user:", "device:alice", "device:/D", "domain:nodot"]) {
    assert.throws(() => parseScope(bad), /is not one of box, domain:DOMAIN/);
  }
  assert.deepEqual(scopeChain("alice", "D1", "example.test"), [
    "box",
    "domain:example.test",
    "user:alice",
    "device:alice/D1",
  ]);
  assert.deepEqual(scopeChain("alice", undefined, undefined), ["box", "user:alice"]);
});

Deno.test("easProvisionDoc() lists every element in schema order, 12.1 elements only from 12.1", () => {
  const policy = resolvePolicy([{
    scope: "box",
    values: { MinDevicePasswordLength: 6, UnapprovedInROMApplicationList: ["Camera"] },
  }]);
  const doc = easProvisionDoc(policy, "14.1");
  assert.deepEqual(doc.children!.map((c) => c.name), Object.keys(POLICY_ELEMENTS));
  assert.equal(childText(doc, "MinDevicePasswordLength"), "6");
  const empty = doc.children!.find((c) => c.name === "MaxAttachmentSize")!;
  assert.equal(elementText(empty), "", "no limit is an empty element");
  assert.equal(empty.text, undefined);
  assert.equal(
    doc.children!.find((c) => c.name === "UnapprovedInROMApplicationList")!.children![0]!.text,
    "Camera",
  );
  const old = easProvisionDoc(policy, "12.0");
  assert.ok(
    old.children!.every((c) => POLICY_ELEMENTS[c.name as keyof typeof POLICY_ELEMENTS].minVersion === "12.0"),
  );
  assert.equal(old.children!.length, 12);
});

Deno.test("wapProvisioningXml() maps the 2.5 subset to SecurityPolicy and LASSD registry values", () => {
  const neutral = wapProvisioningXml(resolvePolicy([]));
  assert.match(neutral, /<parm name="4131" value="1"\/>/);
  assert.match(neutral, /<parm name="AEFrequencyType" value="0"\/>/);
  assert.match(neutral, /<parm name="DeviceWipeThreshold" value="-1"\/>/);
  const strict = wapProvisioningXml(resolvePolicy([{
    scope: "box",
    values: {
      DevicePasswordEnabled: 1,
      AlphanumericDevicePasswordRequired: 1,
      MinDevicePasswordLength: 6,
      MaxInactivityTimeDeviceLock: 90,
      MaxDevicePasswordFailedAttempts: 10,
    },
  }]));
  for (
    const expected of [
      '"4131" value="0"',
      '"AEFrequencyType" value="1"',
      '"AEFrequencyValue" value="2"',
      '"DeviceWipeThreshold" value="10"',
      '"CodewordFrequency" value="5"',
      '"MinimumPasswordLength" value="6"',
      '"PasswordComplexity" value="0"',
    ]
  ) assert.ok(strict.includes(expected), expected);
});

const base: GateInput = {
  command: "Sync",
  needsProvisioning: true,
  policyKey: "42",
  access: "allow",
  wipe: undefined,
  exempt: false,
  allowNonProvisionable: true,
  provisioned: { policyKey: "42", policy: "P", issued: 0 },
  currentPolicy: "P",
  refreshHours: 0,
  now: 1_000,
};

Deno.test("decideGate() table: wipe, access, exemption, keys, policy refresh", () => {
  const rows: [Partial<GateInput>, string][] = [
    [{}, "pass"],
    [{ command: "Provision", wipe: { kind: "full", state: "pending" } }, "pass"],
    [{ needsProvisioning: false, command: "Settings", access: "block" }, "pass"],
    [{ wipe: { kind: "full", state: "confirmed" } }, "wipe"],
    [{ wipe: { kind: "account", state: "not-supported" } }, "blocked"],
    [{ access: "block" }, "blocked"],
    [{ access: "quarantine" }, "quarantined"],
    [{ exempt: true, policyKey: "0" }, "pass"],
    [{ policyKey: undefined, provisioned: undefined }, "pass"],
    [{ policyKey: undefined, provisioned: undefined, allowNonProvisionable: false }, "not-provisioned"],
    [{ policyKey: "0" }, "not-provisioned"],
    [{ provisioned: undefined }, "not-provisioned"],
    [{ policyKey: "7" }, "invalid-key"],
    [{ currentPolicy: "Q" }, "policy-refresh"],
    [{ refreshHours: 1, now: 3_600_001 }, "policy-refresh"],
    [{ refreshHours: 1, now: 3_600_000 }, "pass"],
    [{ command: "Ping", policyKey: undefined, allowNonProvisionable: false }, "pass"],
    [{ command: "Ping", policyKey: undefined, currentPolicy: "Q" }, "policy-refresh"],
  ];
  for (const [change, expected] of rows) {
    const decision = decideGate({ ...base, ...change });
    assert.equal(decision.pass ? "pass" : decision.reason, expected, JSON.stringify(change));
  }
});

Deno.test("policyFingerprint() changes with phone elements only", () => {
  const a = policyFingerprint(resolvePolicy([]));
  assert.equal(
    a,
    policyFingerprint(resolvePolicy([{ scope: "box", values: { DevicePolicyRefreshInterval: 5 } }])),
  );
  assert.notEqual(a, policyFingerprint(resolvePolicy([{ scope: "box", values: { AllowWiFi: 0 } }])));
});
