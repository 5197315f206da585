/**
 * Limits of the MIME layer (ARCHITECTURE style rule 7), each with its reason.
 *
 * @module
 */
export const MIME_LIMITS = {
  /** Parts in one message, counting nested ones; real mail rarely has more than a few dozen, a crafted one could have millions of empty parts and cost memory per part. */
  maxParts: 1000,
  /** Nesting of multiparts and message/rfc822 parts; Outlook forwards-of-forwards reach about 10, the limit bounds recursion and the rescans of nested bodies. */
  maxDepth: 32,
  /** Longest boundary accepted: RFC 2046 section 5.1.1 allows 70 characters, legacy mailers exceed it a little; longer ones make the delimiter search slow. */
  maxBoundaryLength: 200,
  /** Line length for base64 bodies we write (RFC 2045 section 6.8: at most 76 characters). */
  base64LineLength: 76,
  /** Soft limit for quoted-printable lines we write (RFC 2045 section 6.7 rule 5: at most 76 characters). */
  qpLineLength: 76,
  /** Header lines we write are folded near this length (RFC 5322 section 2.1.1 recommends 78). */
  headerLineLength: 78,
  /** Longest line a 7bit body may have before we encode it (RFC 5322 section 2.1.1: 998 octets). */
  maxLineLength: 998,
} as const;
