/** Helpers for tests that use the openssl command as an independent check. */

/** Runs openssl with arguments, returns stdout+stderr and the exit code. */
export async function openssl(args: string[], cwd?: string): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command("openssl", {
    args,
    ...(cwd ? { cwd } : {}),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder();
  return { code: result.code, output: text.decode(result.stdout) + text.decode(result.stderr) };
}

/** A temporary directory removed after `body` runs. */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-tls-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
