/** Limits the decoder enforces on untrusted input; every one has a reason. */
export interface WbxmlLimits {
  /** Deepest element nesting accepted. */
  maxDepth: number;
  /** Most tokens (tags, strings, opaque blocks, page switches) in one document. */
  maxTokens: number;
  /** Longest STR_I string in bytes. */
  maxStringBytes: number;
  /** Longest OPAQUE block in bytes. */
  maxOpaqueBytes: number;
  /** Largest WBXML body accepted at all. */
  maxBodyBytes: number;
}

/** Default limits, generous for real EAS traffic and tight enough to stop abuse. */
export const WBXML_LIMITS: Readonly<WbxmlLimits> = Object.freeze({
  // The deepest real EAS documents (Sync > Collections > Collection > Commands >
  // Add > ApplicationData > Recurrence/Attendees > ...) stay under 15 levels;
  // 64 leaves room for Search/Find queries while keeping recursion cheap.
  maxDepth: 64,
  // A 1,000-folder FolderSync is ~6,000 tokens and a 512-item Sync window of
  // rich calendar items ~100,000. Each decoded element costs ~60 bytes of heap
  // for 1 byte of input (an empty tag), so this cap also bounds the tree a
  // body of junk tags can build to ~30 MB.
  maxTokens: 500_000,
  // Email bodies inline in Sync (truncated by the client's TruncationSize)
  // rarely exceed a few MB; 16 MiB caps a single string allocation.
  maxStringBytes: 16 * 1024 * 1024,
  // SendMail/SmartReply Mime and attachments in ItemOperations Store can be
  // large; Exchange's default maxRequestLength is 50 MB, matched here.
  maxOpaqueBytes: 50 * 1024 * 1024,
  // The whole request body: same 50 MB ceiling as Exchange, plus WBXML framing.
  maxBodyBytes: 52 * 1024 * 1024,
});
