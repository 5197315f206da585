/** MS-ASWBXML 2.1.2.1.6 Code Page 5: Move. Tag name to token, names as the spec spells them. */
export const MOVE = {
  page: 5,
  namespace: "Move",
  tokens: {
    MoveItems: 0x05,
    Move: 0x06,
    SrcMsgId: 0x07,
    SrcFldId: 0x08,
    DstFldId: 0x09,
    Response: 0x0A,
    Status: 0x0B,
    DstMsgId: 0x0C,
  },
} as const;
