/**
 * The one `SessionEvent` builder of the tests (pure data: unit tests may import it): an event with
 * no attribution, field by field overridden; and likewise the channel input of such an event.
 */
import type { ChannelInput, SessionEvent } from '@sessionizer/core';

type AttributionField =
  | 'currentUrl'
  | 'referringDomain'
  | 'utmSource'
  | 'utmMedium'
  | 'utmCampaign'
  | 'utmTerm'
  | 'utmContent'
  | 'gclid'
  | 'gadSource'
  | 'fbclid';

/** What a message without URL, referrer, UTM parameters or click ids normalises to. */
export const NO_ATTRIBUTION: { readonly [K in AttributionField]: null } = {
  currentUrl: null,
  referringDomain: null,
  utmSource: null,
  utmMedium: null,
  utmCampaign: null,
  utmTerm: null,
  utmContent: null,
  gclid: null,
  gadSource: null,
  fbclid: null,
};

/** A `$pageview` of team 1 by `anon-1` at the epoch, without session id or attribution, with `overrides` applied. */
export function blankEvent(overrides: Partial<SessionEvent> = {}): SessionEvent {
  return {
    uuid: '00000000-0000-4000-8000-000000000000',
    event: '$pageview',
    teamId: 1,
    distinctId: 'anon-1',
    sessionId: '',
    timestamp: 0,
    ...NO_ATTRIBUTION,
    ...overrides,
  };
}

/** The channel input of an event without attribution, with `fields` applied. */
export function blankChannelInput(fields: Partial<ChannelInput> = {}): ChannelInput {
  return {
    utmSource: null,
    utmMedium: null,
    utmCampaign: null,
    referringDomain: null,
    hasGclid: false,
    hasFbclid: false,
    gadSource: null,
    ...fields,
  };
}
