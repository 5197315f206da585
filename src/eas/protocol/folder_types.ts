/** EAS folder types (MS-ASCMD 2.2.3.186.3 Type (FolderSync)). */
export const FOLDER_TYPE = {
  UserGeneric: 1,
  Inbox: 2,
  Drafts: 3,
  DeletedItems: 4,
  SentItems: 5,
  Outbox: 6,
  Tasks: 7,
  Calendar: 8,
  Contacts: 9,
  Notes: 10,
  Journal: 11,
  UserMail: 12,
  UserCalendar: 13,
  UserContacts: 14,
  UserTasks: 15,
  UserJournal: 16,
  UserNotes: 17,
  Unknown: 18,
  RecipientInformationCache: 19,
} as const;

/** A folder type number. */
export type FolderType = (typeof FOLDER_TYPE)[keyof typeof FOLDER_TYPE];

/** The item class a folder type holds (MS-ASCMD 2.2.3.27 Class). */
export function folderClass(type: FolderType): "Email" | "Calendar" | "Contacts" | "Tasks" | "Notes" {
  switch (type) {
    case FOLDER_TYPE.Calendar:
    case FOLDER_TYPE.UserCalendar:
      return "Calendar";
    case FOLDER_TYPE.Contacts:
    case FOLDER_TYPE.UserContacts:
      return "Contacts";
    case FOLDER_TYPE.Tasks:
    case FOLDER_TYPE.UserTasks:
      return "Tasks";
    case FOLDER_TYPE.Notes:
    case FOLDER_TYPE.UserNotes:
      return "Notes";
    default:
      return "Email";
  }
}
