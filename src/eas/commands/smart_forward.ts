import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { handleCompose } from "./compose_common.ts";

/** SmartForward (MS-ASCMD 2.2.1.19): submits a forward; the original's text and attachments are included unless ReplaceMime. */
export function smartForward(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return handleCompose("SmartForward", request, ctx);
}
