/**
 * `pushbridge wbxml decode|encode` (and `deno task wbxml`): converts between
 * WBXML and its XML form through stdin and stdout. The one I/O edge of the
 * codec.
 */
import { decode } from "./decode.ts";
import { encode } from "./encode.ts";
import { WbxmlSyntaxError } from "./errors.ts";
import { fromXml, toXml } from "./xml.ts";

const USAGE = `usage: wbxml decode [--redact] [--libwbxml-names] [--compact] < in.wbxml > out.xml
       wbxml encode < in.xml > out.wbxml`;

async function readStdin(): Promise<Uint8Array> {
  return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
}

async function writeStdout(bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await Deno.stdout.write(bytes.subarray(written));
}

/** Runs the CLI; returns the exit code (0 ok, 2 bad usage or bad input). */
export async function runWbxmlCli(args: string[]): Promise<number> {
  const [verb, ...flags] = args;
  const known = new Set(["--redact", "--libwbxml-names", "--compact"]);
  const unknown = flags.find((f) => !known.has(f));
  if ((verb !== "decode" && verb !== "encode") || unknown !== undefined) {
    console.error(unknown !== undefined ? `Unknown option "${unknown}"\n${USAGE}` : USAGE);
    return 2;
  }
  try {
    const input = await readStdin();
    if (verb === "decode") {
      const xml = toXml(decode(input), {
        redact: flags.includes("--redact"),
        names: flags.includes("--libwbxml-names") ? "libwbxml" : "spec",
        indent: flags.includes("--compact") ? "" : "  ",
      });
      await writeStdout(new TextEncoder().encode(xml.endsWith("\n") ? xml : xml + "\n"));
    } else {
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(input);
      } catch {
        console.error("Input is not valid UTF-8 XML");
        return 2;
      }
      await writeStdout(encode(fromXml(text)));
    }
    return 0;
  } catch (error) {
    if (error instanceof WbxmlSyntaxError || error instanceof Error) {
      console.error(`wbxml ${verb}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
