/**
 * EAS command names and their codes in the base64-encoded query
 * (MS-ASHTTP 2.2.1.1.1.1.2 "Command Codes").
 */
export const COMMAND_CODES = {
  Sync: 0,
  SendMail: 1,
  SmartForward: 2,
  SmartReply: 3,
  GetAttachment: 4,
  FolderSync: 9,
  FolderCreate: 10,
  FolderDelete: 11,
  FolderUpdate: 12,
  MoveItems: 13,
  GetItemEstimate: 14,
  MeetingResponse: 15,
  Search: 16,
  Settings: 17,
  Ping: 18,
  ItemOperations: 19,
  Provision: 20,
  ResolveRecipients: 21,
  ValidateCert: 22,
  Find: 23,
} as const;

/** An EAS command name. */
export type CommandName = keyof typeof COMMAND_CODES;

/** Command name for a base64 query command code, or undefined. */
export function commandByCode(code: number): CommandName | undefined {
  for (const [name, value] of Object.entries(COMMAND_CODES)) {
    if (value === code) return name as CommandName;
  }
  return undefined;
}

/** Whether a string is a known command name. */
export function isCommandName(value: string): value is CommandName {
  return Object.hasOwn(COMMAND_CODES, value);
}
