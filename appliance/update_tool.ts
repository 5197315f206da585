/**
 * Build-side update tooling.
 *
 *   deno run -A appliance/update_tool.ts keys DIR
 *       creates DIR/update_private.pem (never committed) and DIR/update_public.key
 *       unless they exist
 *   deno run -A appliance/update_tool.ts sign KEY.pem PAYLOAD.tar.gz OUT.pbu VERSION ARCH [bundle|binary]
 *       writes a signed update file
 *
 * @module
 */
import { generateUpdateKeyPair, importUpdatePrivateKey, writeUpdateFile } from "../src/update/update_file.ts";

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "keys" && rest.length === 1) {
    const dir = rest[0]!;
    const privatePath = `${dir}/update_private.pem`;
    const publicPath = `${dir}/update_public.key`;
    if (await exists(privatePath) && await exists(publicPath)) return 0;
    await Deno.mkdir(dir, { recursive: true });
    const pair = await generateUpdateKeyPair();
    await Deno.writeTextFile(privatePath, pair.privatePem, { mode: 0o600 });
    await Deno.writeTextFile(publicPath, pair.publicBase64);
    console.log(`Generated a development update key pair in '${dir}'`);
    return 0;
  }
  if (command === "sign" && (rest.length === 5 || rest.length === 6)) {
    const [keyPath, payload, out, version, arch, kind = "bundle"] = rest as [
      string,
      string,
      string,
      string,
      string,
      string?,
    ];
    if (kind !== "bundle" && kind !== "binary") {
      console.error(`Kind '${kind}' is not 'bundle' or 'binary'`);
      return 2;
    }
    const key = await importUpdatePrivateKey(await Deno.readTextFile(keyPath));
    const manifest = await writeUpdateFile(out, payload, { version, arch, kind }, key);
    console.log(`Signed '${out}': ${manifest.version} ${manifest.arch} ${manifest.payloadBytes} bytes`);
    return 0;
  }
  console.error(
    "Usage: update_tool.ts keys DIR | sign KEY.pem PAYLOAD.tar.gz OUT.pbu VERSION ARCH [bundle|binary]",
  );
  return 2;
}

Deno.exit(await main(Deno.args));
