/**
 * @sessionizer/core: the pure session model — input formats and normalisation, the property
 * catalog, mergeable session state and its buffer, derivation of sessions, channel type, flush
 * policy and server-side session assignment. No I/O. The reference oracles are in
 * `@sessionizer/core/testing`, which production code does not import.
 */
export {
  asciiLower,
  type AttributionKind,
  attributionSites,
  CHANNEL_PATTERNS,
  CHANNEL_TYPES,
  type ChannelCondition,
  type ChannelInput,
  type ChannelRule,
  type ChannelRules,
  channelType,
  type ChannelType,
  defaultChannelType,
  DIRECT_REFERRING_DOMAIN,
  DIRECT_SOURCES,
  hasClickId,
  MEDIUM_TYPE_BY_KEY,
  PAID_MEDIUMS,
  parseChannelRules,
  parseChannelRulesJson,
  registrableDomain,
  SECOND_LEVEL_SUFFIXES,
  SOURCE_CATEGORY_BY_KEY,
  SOURCE_CATEGORY_TYPES,
} from './channel/index.js';
export {
  EXCLUDED_REASONS,
  INPUT_FORMATS,
  type InputFormat,
  isPageLike,
  type Normalized,
  REJECT_REASONS,
  type Rejected,
  type RejectReason,
  type SessionEvent,
} from './event.js';
export { DEFAULT_LIMITS, type Limits, wellFormed } from './limits.js';
export { formatTimestamp, parseTimestamp } from './time.js';
export { isUuidV7, uuidV7Millis } from './uuid.js';
export { urlDomain, urlPath } from './url.js';
export {
  ANY,
  CATALOG,
  type CatalogEntry,
  COUNTS,
  type DerivedColumn,
  ENTRY_EVENT,
  finalSet,
  KEYED,
  LOWER_TIER_AD_IDS,
  type ScalarProperty,
  SETS,
  type Value,
  VIEW_COLUMNS,
} from './catalog.js';
export {
  DEFAULT_SESSION_ID_CLIENT_TOLERANCE_MS,
  DEFAULT_SESSION_ID_TOLERANCE_MS,
  normalize,
  type NormalizeOptions,
} from './formats/index.js';
export { decodeRecord } from './decode.js';
export { type EventKey, sessionKey, type SessionState } from './session.js';
export {
  CHANNEL_RULE_COLUMNS,
  DEFAULT_BOUNCE_THRESHOLD_SECONDS,
  type DeriveOptions,
  isBounce,
  type Session,
  SESSION_COLUMNS,
} from './derive.js';
export { SessionBuffer, stateToSession } from './buffer.js';
export { type FlushPolicy, flushReason, type FlushReason } from './flush-policy.js';
export {
  DEFAULT_SERVER_SESSION_IDLE_MS,
  estimateTrackedBytes,
  KeyFilter,
  type KeyRef,
  type RuleCounts,
  ServerSessionAssigner,
  type ServerSessionRule,
  serverSessionKey,
  type StateChange,
} from './server-sessions/index.js';
