/** Entry point for the CLI tests: runs runWbxmlCli() in a child process with real stdin/stdout. */
import { runWbxmlCli } from "../../src/wbxml/cli.ts";

Deno.exit(await runWbxmlCli(Deno.args));
