/**
 * Independent checks of EAS bytes with Debian's libwbxml and Microsoft's
 * schemas (../shared/eas-xsd/validate.sh), shared by the integration tests.
 */

const XSD_VALIDATE = new URL("../../../shared/eas-xsd/validate.sh", import.meta.url).pathname;

async function run(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", ...(cwd ? { cwd } : {}) })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** Encodes XML (libwbxml names, `xmlns="Page:"` form) with `xml2wbxml -a -n`: an encoder that is not ours. */
export async function encodeWithLibwbxml(xml: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "libwbxml-" });
  try {
    const doc = xml.startsWith("<?xml") ? xml : `<?xml version="1.0" encoding="utf-8"?>\n` +
      `<!DOCTYPE ActiveSync PUBLIC "-//MICROSOFT//DTD ActiveSync//EN" "http://www.microsoft.com/">\n${xml}`;
    await Deno.writeTextFile(`${dir}/in.xml`, doc);
    const result = await run("xml2wbxml", ["-a", "-n", "-o", `${dir}/out.wbxml`, `${dir}/in.xml`]);
    if (result.code !== 0) throw new Error(`xml2wbxml failed: ${result.stderr || result.stdout}`);
    return await Deno.readFile(`${dir}/out.wbxml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Decodes WBXML with `wbxml2xml -l ACTIVESYNC -m 0`: a decoder that is not ours. */
export async function decodeWithLibwbxml(bytes: Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "libwbxml-" });
  try {
    await Deno.writeFile(`${dir}/in.wbxml`, bytes);
    const result = await run("wbxml2xml", [
      "-l",
      "ACTIVESYNC",
      "-m",
      "0",
      "-o",
      `${dir}/out.xml`,
      `${dir}/in.wbxml`,
    ]);
    if (result.code !== 0) throw new Error(`wbxml2xml failed: ${result.stderr || result.stdout}`);
    return await Deno.readTextFile(`${dir}/out.xml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Validates a WBXML response against Microsoft's XSDs; returns the script's
 * messages. Exit 0 means valid.
 */
export async function validateWithXsd(bytes: Uint8Array): Promise<{ valid: boolean; messages: string }> {
  const dir = await Deno.makeTempDir({ prefix: "xsd-" });
  try {
    await Deno.writeFile(`${dir}/response.wbxml`, bytes);
    const result = await run("bash", [XSD_VALIDATE, "--wbxml", `${dir}/response.wbxml`]);
    return { valid: result.code === 0, messages: (result.stdout + result.stderr).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
