/**
 * The offline firmware's x86_64 fallback artifact, as the firmware tests build and start it.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../..", import.meta.url).pathname;

/** Where appliance/build_firmware.sh puts the x86_64 fallback bundle (bin/pushbridge, lib/...). */
export const FALLBACK_BUNDLE = `${ROOT}dist/pushbridge-x86_64-linux-bundle`;

/**
 * Builds the x86_64 fallback with appliance/build_firmware.sh (deno bundle + the npm runtime; a few
 * seconds once the runtime is cached under dist/.build) and asserts that the build succeeded.
 */
export async function buildFallbackFirmware(): Promise<void> {
  const build = await new Deno.Command(`${ROOT}appliance/build_firmware.sh`, {
    args: ["x86_64"],
    env: { FIRMWARE_FALLBACK_OK: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(build.success, new TextDecoder().decode(build.stderr));
}

/**
 * Reads a starting `pushbridge serve` log up to its banner's "Setup page" line and returns the
 * Exchange ActiveSync URL it announces, with the host made "localhost" (the name its self-signed
 * certificate carries). The reader is left open, positioned after the banner.
 */
export async function easUrlFromBanner(reader: ReadableStreamDefaultReader<string>): Promise<string> {
  let banner = "";
  while (!banner.includes("Setup page")) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += value;
  }
  const easUrl = /Exchange ActiveSync: (\S+)/.exec(banner)?.[1];
  assert.ok(easUrl, `no EAS URL in '${banner}'`);
  return easUrl.replace(/^https:\/\/[^:/]+/, "https://localhost");
}
