import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { handleCompose } from "./compose_common.ts";

/** SendMail (MS-ASCMD 2.2.1.17): submits a new message. */
export function sendMail(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return handleCompose("SendMail", request, ctx);
}
