/** MS-ASWBXML 2.1.2.1.9 Code Page 8: MeetingResponse. Tag name to token, names as the spec spells them. */
export const MEETING_RESPONSE = {
  page: 8,
  namespace: "MeetingResponse",
  tokens: {
    CalendarId: 0x05,
    CollectionId: 0x06,
    MeetingResponse: 0x07,
    RequestId: 0x08,
    Request: 0x09,
    Result: 0x0A,
    Status: 0x0B,
    UserResponse: 0x0C,
    Version: 0x0D,
    InstanceId: 0x0E,
    ProposedStartTime: 0x10, // since 16.0
    ProposedEndTime: 0x11, // since 16.0
    SendResponse: 0x12,
  },
} as const;
