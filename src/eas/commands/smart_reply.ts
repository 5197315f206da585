import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { handleCompose } from "./compose_common.ts";

/** SmartReply (MS-ASCMD 2.2.1.20): submits a reply; the original's text is quoted below the phone's unless ReplaceMime. */
export function smartReply(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  return handleCompose("SmartReply", request, ctx);
}
