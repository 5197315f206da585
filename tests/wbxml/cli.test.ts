import assert from "node:assert/strict";
import { el, encode, textEl } from "../../src/wbxml/mod.ts";

const cli = new URL("./_run_cli.ts", import.meta.url).pathname;

async function run(
  args: string[],
  input: Uint8Array,
): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", cli, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  return { code: out.code, stdout: out.stdout, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("runWbxmlCli() decodes WBXML to XML and encodes it back to the same bytes", async () => {
  const bytes = encode(
    el("Ping", "Ping", textEl("Ping", "Status", 1), textEl("Ping", "HeartbeatInterval", 480)),
  );
  const decoded = await run(["decode"], bytes);
  assert.equal(decoded.code, 0, decoded.stderr);
  assert.match(new TextDecoder().decode(decoded.stdout), /<Ping xmlns="Ping:">/);
  const encoded = await run(["encode"], decoded.stdout);
  assert.equal(encoded.code, 0, encoded.stderr);
  assert.deepEqual(encoded.stdout, bytes);
});

Deno.test("runWbxmlCli() exits 2 with a clear message on bad input or usage", async () => {
  const bad = await run(["decode"], new Uint8Array([0x03, 0x01, 0x6A, 0x00, 0x3F]));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown tag 0x3F in code page 0/);
  const badXml = await run(["encode"], new TextEncoder().encode("<Nope/>"));
  assert.equal(badXml.code, 2);
  assert.match(badXml.stderr, /No namespace for "Nope"/);
  const usage = await run(["frobnicate"], new Uint8Array());
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: wbxml decode/);
});
