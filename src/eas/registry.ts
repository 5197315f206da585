import type { CommandHandler } from "./commands/context.ts";
import { find } from "./commands/find.ts";
import { folderCreate } from "./commands/folder_create.ts";
import { folderDelete } from "./commands/folder_delete.ts";
import { folderSync } from "./commands/folder_sync.ts";
import { sync } from "./commands/sync.ts";
import { getItemEstimate } from "./commands/get_item_estimate.ts";
import { itemOperations } from "./commands/item_operations.ts";
import { getAttachment } from "./commands/get_attachment.ts";
import { folderUpdate } from "./commands/folder_update.ts";
import { moveItems } from "./commands/move_items.ts";
import { ping } from "./commands/ping.ts";
import { provision } from "./commands/provision.ts";
import { sendMail } from "./commands/send_mail.ts";
import { resolveRecipients } from "./commands/resolve_recipients.ts";
import { meetingResponse } from "./commands/meeting_response.ts";
import { search } from "./commands/search.ts";
import { settings } from "./commands/settings.ts";
import { smartForward } from "./commands/smart_forward.ts";
import { smartReply } from "./commands/smart_reply.ts";
import type { CommandName } from "./protocol/commands.ts";

/** How the front door treats one command. */
export interface CommandSpec {
  handler: CommandHandler;
  /** Lowest protocol version that has the command (MS-ASCMD 2.2.1). */
  minVersion: string;
  /** Highest version that still has it (GetAttachment ends at 12.1), when limited. */
  maxVersion?: string;
  /** Whether the device must hold a current policy key (MS-ASPROV 3.2.5.1). */
  needsProvisioning: boolean;
  /** Whether the body is WBXML ("wbxml"), MIME ("mime", SendMail etc. in 12.1 and earlier) or may be empty. */
  body: "wbxml" | "wbxml-or-empty" | "mime-or-wbxml" | "none";
}

/**
 * The command table: the one place that says which commands exist, from
 * which version, and how they are gated. OPTIONS advertises exactly these.
 * Every EAS command needs authentication, so that is not a column.
 */
export const COMMANDS: Partial<Record<CommandName, CommandSpec>> = {
  FolderSync: { handler: folderSync, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  // An empty body repeats the previous request (MS-ASCMD 2.2.1.21).
  Sync: { handler: sync, minVersion: "2.5", needsProvisioning: true, body: "wbxml-or-empty" },
  Ping: { handler: ping, minVersion: "2.5", needsProvisioning: true, body: "wbxml-or-empty" },
  GetItemEstimate: { handler: getItemEstimate, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  ItemOperations: { handler: itemOperations, minVersion: "12.0", needsProvisioning: true, body: "wbxml" },
  // Replaced by ItemOperations in 14.0 (MS-ASCMD 2.2.1.8).
  GetAttachment: {
    handler: getAttachment,
    minVersion: "2.5",
    maxVersion: "12.1",
    needsProvisioning: true,
    body: "wbxml-or-empty",
  },
  FolderCreate: { handler: folderCreate, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  FolderUpdate: { handler: folderUpdate, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  FolderDelete: { handler: folderDelete, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  MoveItems: { handler: moveItems, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  MeetingResponse: { handler: meetingResponse, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  // 12.1 and earlier post the MIME itself (MS-ASHTTP 2.2.1.1.1.2); 14.0+ a ComposeMail body.
  SendMail: { handler: sendMail, minVersion: "2.5", needsProvisioning: true, body: "mime-or-wbxml" },
  SmartReply: { handler: smartReply, minVersion: "2.5", needsProvisioning: true, body: "mime-or-wbxml" },
  SmartForward: { handler: smartForward, minVersion: "2.5", needsProvisioning: true, body: "mime-or-wbxml" },
  // Provision is how a device gets its policy and its wipe (MS-ASPROV 3.2.5.1).
  Provision: { handler: provision, minVersion: "2.5", needsProvisioning: false, body: "wbxml" },
  // Settings needs no policy: phones send DeviceInformation before Provision in 16.x (MS-ASCMD 2.2.1.18).
  Settings: { handler: settings, minVersion: "12.0", needsProvisioning: false, body: "wbxml" },
  Search: { handler: search, minVersion: "2.5", needsProvisioning: true, body: "wbxml" },
  // Find is the 16.1 search of mailbox and GAL (MS-ASCMD 2.2.1.2).
  Find: { handler: find, minVersion: "16.1", needsProvisioning: true, body: "wbxml" },
  ResolveRecipients: {
    handler: resolveRecipients,
    minVersion: "12.0",
    needsProvisioning: true,
    body: "wbxml",
  },
};
