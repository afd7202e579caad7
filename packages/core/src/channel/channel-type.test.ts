import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attributionSites,
  defaultChannelType as channelType,
  hasClickId,
  lookupMedium,
  lookupSource,
  normaliseKeepCase,
  normaliseLower,
} from './channel-type.js';
import { CHANNEL_TYPES, type ChannelInput, type ChannelType } from './types.js';
import { channelInputArbitrary } from '../../../../test/support/arbitraries.js';
import { blankChannelInput } from '../../../../test/support/events.js';

const input = blankChannelInput;

type Case = [name: string, fields: Partial<ChannelInput>, expected: ChannelType];

function cases(list: Case[]): void {
  it.each(list)('%s', (_name, fields, expected) => {
    expect(channelType(input(fields))).toBe(expected);
  });
}

describe('channelType', () => {
  describe('Cross Network', () => {
    cases([
      ['campaign contains cross-network', { utmCampaign: 'pmax_cross-network_2024' }, 'Cross Network'],
      ['mixed case campaign', { utmCampaign: 'Cross-Network' }, 'Cross Network'],
      ['beats paid medium and source', { utmCampaign: 'cross-network', utmMedium: 'cpc', utmSource: 'google' }, 'Cross Network'],
      ['beats gclid and direct', { utmCampaign: 'cross-network', hasGclid: true, referringDomain: '$direct' }, 'Cross Network'],
      ['needs the hyphen', { utmCampaign: 'cross network' }, 'Unknown'],
    ]);
  });

  describe('paid branch', () => {
    cases([
      ['cpc + search source', { utmMedium: 'cpc', utmSource: 'google' }, 'Paid Search'],
      ['each paid medium', { utmMedium: 'ppc', utmSource: 'bing' }, 'Paid Search'],
      ['retargeting + social source', { utmMedium: 'retargeting', utmSource: 'facebook' }, 'Paid Social'],
      ['mixed case medium and source', { utmMedium: 'CPC', utmSource: 'Google' }, 'Paid Search'],
      ['medium starting with paid', { utmMedium: 'Paid_Social', utmSource: 'ig' }, 'Paid Social'],
      ['medium paid… with nothing else', { utmMedium: 'paidsearch' }, 'Paid Unknown'],
      ['medium containing but not starting with paid', { utmMedium: 'unpaid' }, 'Unknown'],
      ['has_gclid alone', { hasGclid: true }, 'Paid Unknown'],
      ['gad_source=1 alone', { gadSource: '1' }, 'Paid Search'],
      ['gad_source=2 alone', { gadSource: '2' }, 'Paid Unknown'],
      ['gad_source "null" is absent', { gadSource: 'null' }, 'Unknown'],
      ['gad_source "NULL" is present', { gadSource: 'NULL' }, 'Paid Unknown'],
      ['paid video source', { utmMedium: 'cpv', utmSource: 'youtube' }, 'Paid Video'],
      ['paid shopping source', { utmMedium: 'cpc', utmSource: 'amazon.co.uk' }, 'Paid Shopping'],
      ['amazon.de is not in the source data', { utmMedium: 'cpc', utmSource: 'amazon.de' }, 'Paid Unknown'],
      ['paid source by registrable domain', { utmMedium: 'cpc', utmSource: 'www.google.co.uk' }, 'Paid Search'],
      ['paid source as URL', { utmMedium: 'cpc', utmSource: 'https://l.facebook.com/l.php' }, 'Paid Social'],
      ['paid source beats shopping campaign', { utmMedium: 'cpc', utmSource: 'google', utmCampaign: 'shopping' }, 'Paid Search'],
      ['shopping campaign beats medium table', { utmMedium: 'cpm', utmCampaign: 'summer-shop' }, 'Paid Shopping'],
      ['shopping campaign for unknown source', { hasGclid: true, utmSource: 'newsletter', utmCampaign: 'eshop' }, 'Paid Shopping'],
      ['medium table: cpm is Display', { utmMedium: 'cpm' }, 'Display'],
      ['medium table: paid + display medium is not possible, banner needs a trigger', { utmMedium: 'banner', hasGclid: true }, 'Display'],
      ['medium table: social', { utmMedium: 'social', gadSource: '3' }, 'Paid Social'],
      ['medium table: video', { utmMedium: 'video', hasGclid: true }, 'Paid Video'],
      ['medium table has no paid email', { utmMedium: 'email', hasGclid: true }, 'Paid Unknown'],
      ['medium table beats referring domain', { utmMedium: 'cpm', referringDomain: 'google.com' }, 'Display'],
      ['referring domain lookup', { utmMedium: 'cpc', referringDomain: 'www.google.co.uk' }, 'Paid Search'],
      ['referring domain subdomain', { hasGclid: true, referringDomain: 'l.facebook.com' }, 'Paid Social'],
      ['referring domain keeps its case', { hasGclid: true, referringDomain: 'Google.com' }, 'Paid Unknown'],
      [
        'email source has no paid type, referring domain goes on',
        { utmMedium: 'cpc', utmSource: 'email', referringDomain: 'youtube.com' },
        'Paid Video',
      ],
      ['webmail source falls back to its search parent when paid', { utmMedium: 'cpc', utmSource: 'mail.google.com' }, 'Paid Search'],
      ['sms source has no paid type', { utmMedium: 'cpc', utmSource: 'sms' }, 'Paid Unknown'],
      ['gad_source=1 beats video campaign and fbclid', { gadSource: '1', utmCampaign: 'video', hasFbclid: true }, 'Paid Search'],
      ['referring domain beats gad_source=1', { gadSource: '1', referringDomain: 'facebook.com' }, 'Paid Social'],
      ['video campaign', { utmMedium: 'cpc', utmCampaign: 'Spring_VIDEO_ads' }, 'Paid Video'],
      ['video campaign beats fbclid', { hasGclid: true, utmCampaign: 'video', hasFbclid: true }, 'Paid Video'],
      ['fbclid in the paid branch', { hasGclid: true, hasFbclid: true }, 'Paid Social'],
      ['fbclid alone does not make it paid', { hasFbclid: true }, 'Organic Social'],
      ['paid beats direct', { hasGclid: true, referringDomain: '$direct' }, 'Paid Unknown'],
    ]);
  });

  describe('Direct', () => {
    cases([
      ['$direct and nothing else', { referringDomain: '$direct' }, 'Direct'],
      ['source (direct)', { referringDomain: '$direct', utmSource: '(direct)' }, 'Direct'],
      ['source DIRECT (lowered)', { referringDomain: '$direct', utmSource: 'DIRECT' }, 'Direct'],
      ['source $direct', { referringDomain: '$direct', utmSource: '$direct' }, 'Direct'],
      ['source "null" is absent', { referringDomain: '$direct', utmSource: 'null', utmMedium: '' }, 'Direct'],
      ['with fbclid: Organic Social', { referringDomain: '$direct', hasFbclid: true }, 'Organic Social'],
      ['with a medium: the medium table first', { referringDomain: '$direct', utmMedium: 'email' }, 'Email'],
      ['with a search source', { referringDomain: '$direct', utmSource: 'google' }, 'Organic Search'],
      ['with an unknown source: Direct after all the lookups', { referringDomain: '$direct', utmSource: 'foo' }, 'Direct'],
      ['with an unknown medium: Direct after all the lookups', { referringDomain: '$direct', utmMedium: 'NULL' }, 'Direct'],
      ['with a video campaign', { referringDomain: '$direct', utmSource: 'foo', utmCampaign: 'video' }, 'Organic Video'],
      ['$direct is case-sensitive', { referringDomain: '$DIRECT' }, 'Referral'],
    ]);
  });

  describe('organic branch', () => {
    cases([
      ['search source', { utmSource: 'google' }, 'Organic Search'],
      ['search source, mixed case', { utmSource: 'DuckDuckGo' }, 'Organic Search'],
      ['search source by registrable domain', { utmSource: 'www.google.co.uk' }, 'Organic Search'],
      ['search source, upper case, by registrable domain', { utmSource: 'WWW.GOOGLE.CO.UK' }, 'Organic Search'],
      ['social source by registrable domain', { utmSource: 'lm.facebook.com' }, 'Organic Social'],
      ['video source as URL', { utmSource: 'https://www.youtube.com/watch?v=1' }, 'Organic Video'],
      ['shopping source', { utmSource: 'etsy' }, 'Organic Shopping'],
      ['email source', { utmSource: 'Email' }, 'Email'],
      ['email source with a space', { utmSource: 'e mail' }, 'Email'],
      ['webmail source beats its search parent', { utmSource: 'mail.google.com' }, 'Email'],
      ['sms source', { utmSource: 'SMS' }, 'SMS'],
      ['source beats medium', { utmSource: 'google', utmMedium: 'email' }, 'Organic Search'],
      ['source "NULL" is the string null, not absent', { utmSource: 'NULL', referringDomain: 'google.com' }, 'Organic Search'],
      ['shopping campaign', { utmCampaign: 'shop' }, 'Organic Shopping'],
      ['shopping campaign: e before shop', { utmCampaign: 'eshop' }, 'Organic Shopping'],
      ['shopping campaign: punctuation before shop', { utmCampaign: 'x_shop_y' }, 'Organic Shopping'],
      ['shopping campaign: shopping anywhere', { utmCampaign: 'bookshopping' }, 'Organic Shopping'],
      ['not shopping: a letter before shop', { utmCampaign: 'workshop' }, 'Unknown'],
      ['not shopping: upper-case letter lowered first', { utmCampaign: 'WORKSHOP' }, 'Unknown'],
      ['shopping campaign beats medium', { utmCampaign: 'shop', utmMedium: 'email' }, 'Organic Shopping'],
      ['medium social', { utmMedium: 'Social' }, 'Organic Social'],
      ['medium social media (with a space)', { utmMedium: 'social media' }, 'Organic Social'],
      ['medium affiliate', { utmMedium: 'affiliate' }, 'Affiliate'],
      ['medium referral', { utmMedium: 'referral' }, 'Referral'],
      ['medium display', { utmMedium: 'display' }, 'Display'],
      ['medium email', { utmMedium: 'e_mail' }, 'Email'],
      ['medium audio', { utmMedium: 'audio' }, 'Audio'],
      ['medium push (table)', { utmMedium: 'push' }, 'Push'],
      ['medium notification (table)', { utmMedium: 'notification' }, 'Push'],
      ['medium ending in push (push$)', { utmMedium: 'web-push' }, 'Push'],
      ['medium table push beats video campaign', { utmMedium: 'push', utmCampaign: 'video' }, 'Push'],
      ['video campaign beats push$', { utmMedium: 'web-push', utmCampaign: 'video' }, 'Organic Video'],
      ['push$ needs the end', { utmMedium: 'pushy' }, 'Unknown'],
      ['push$ is not fooled by a newline', { utmMedium: 'push\n' }, 'Unknown'],
      ['medium beats referring domain', { utmMedium: 'referral', referringDomain: 'google.com' }, 'Referral'],
      ['referring domain: search', { referringDomain: 'www.google.com' }, 'Organic Search'],
      ['referring domain: social subdomain', { referringDomain: 'l.facebook.com' }, 'Organic Social'],
      ['referring domain: webmail', { referringDomain: 'mail.google.com' }, 'Email'],
      ['referring domain: t.co', { referringDomain: 't.co' }, 'Organic Social'],
      ['referring domain keeps its case', { referringDomain: 'Google.com' }, 'Referral'],
      ['referring domain beats video campaign', { referringDomain: 'google.com', utmCampaign: 'video' }, 'Organic Search'],
      ['video campaign', { utmCampaign: 'Launch-Video' }, 'Organic Video'],
      ['video campaign across a newline (. matches \\n)', { utmCampaign: 'a\nvideo\nb' }, 'Organic Video'],
      ['fbclid', { hasFbclid: true, referringDomain: 'example.com' }, 'Organic Social'],
      ['referral', { referringDomain: 'example.com' }, 'Referral'],
      ['referring domain "" is still a referrer (raw)', { referringDomain: '' }, 'Referral'],
      ['referring domain "null" is still a referrer (raw)', { referringDomain: 'null' }, 'Referral'],
      ['nothing at all', {}, 'Unknown'],
      ['only empty strings', { utmSource: '', utmMedium: '', utmCampaign: '', gadSource: '' }, 'Unknown'],
      ['unknown source', { utmSource: 'newsletter' }, 'Unknown'],
      ['non-ASCII upper case is not lowered (KELVIN SIGN)', { utmSource: '\u212Aick' }, 'Unknown'],
    ]);
  });

  it('always answers one of CHANNEL_TYPES', () => {
    const value = fc.option(fc.oneof(fc.string(), fc.constantFrom('', 'null', 'NULL', '$direct', 'google', 'cpc', 'video', '1')), {
      nil: null,
    });
    fc.assert(
      fc.property(channelInputArbitrary(value), (i) => {
        expect(CHANNEL_TYPES).toContain(channelType(i));
      }),
      { numRuns: 2000, seed: 1 },
    );
  });
});

describe('normalisation', () => {
  it('nullIf(nullIf(x, ""), "null") then lower', () => {
    expect(normaliseLower(null)).toBeNull();
    expect(normaliseLower('')).toBeNull();
    expect(normaliseLower('null')).toBeNull();
    expect(normaliseLower('NULL')).toBe('null');
    expect(normaliseLower('Null')).toBe('null');
    expect(normaliseLower(' ')).toBe(' ');
    expect(normaliseLower('GoOgle')).toBe('google');
    expect(normaliseKeepCase('NULL')).toBe('NULL');
    expect(normaliseKeepCase('null')).toBeNull();
    expect(normaliseKeepCase('')).toBeNull();
  });

  it("hasClickId: '' and 'null' are absent, 'NULL' is present (the null check comes before any lowering)", () => {
    expect(hasClickId(null)).toBe(false);
    expect(hasClickId('')).toBe(false);
    expect(hasClickId('null')).toBe(false);
    expect(hasClickId('NULL')).toBe(true);
    expect(hasClickId('abc')).toBe(true);
    expect(hasClickId(' ')).toBe(true);
  });
});

describe('lookups', () => {
  it('lookupSource: exact, then registrable domain; paid email/sms is null', () => {
    expect(lookupSource('paid', 'google')).toBe('Paid Search');
    expect(lookupSource('organic', 'google')).toBe('Organic Search');
    expect(lookupSource('organic', 'news.google.com')).toBe('Organic Search');
    expect(lookupSource('organic', 'mail.google.com')).toBe('Email');
    // the exact key has no paid type, so PostHog's coalesce falls through to google.com
    expect(lookupSource('paid', 'mail.google.com')).toBe('Paid Search');
    expect(lookupSource('paid', 'gmail.com')).toBeNull();
    expect(lookupSource('paid', 'sms')).toBeNull();
    expect(lookupSource('organic', 'sms')).toBe('SMS');
    expect(lookupSource('organic', 'Google')).toBeNull();
    expect(lookupSource('organic', null)).toBeNull();
    expect(lookupSource('organic', '')).toBeNull();
    expect(lookupSource('organic', 'search.brave.com')).toBe('Organic Search');
    expect(lookupSource('organic', 'x.search.brave.com')).toBeNull();
  });

  it('lookupMedium: exact match only', () => {
    expect(lookupMedium('paid', 'cpm')).toBe('Display');
    expect(lookupMedium('organic', 'social')).toBe('Organic Social');
    expect(lookupMedium('paid', 'affiliate')).toBeNull();
    expect(lookupMedium('organic', 'affiliate')).toBe('Affiliate');
    expect(lookupMedium('organic', 'Social')).toBeNull();
    expect(lookupMedium('organic', 'www.social')).toBeNull();
    expect(lookupMedium('organic', null)).toBeNull();
  });

  it('attributionSites: normalised source, raw referring domain, null for nothing', () => {
    expect(attributionSites(input({ utmSource: 'WWW.Google.CO.UK', referringDomain: 'WWW.Google.CO.UK' }))).toEqual({
      sourceSite: 'google.co.uk',
      referringSite: 'Google.CO.UK',
    });
    expect(attributionSites(input({ utmSource: 'null', referringDomain: null }))).toEqual({ sourceSite: null, referringSite: null });
    expect(attributionSites(input({ utmSource: '', referringDomain: '' }))).toEqual({ sourceSite: null, referringSite: null });
    expect(attributionSites(input({ utmSource: 'NULL', referringDomain: '$direct' }))).toEqual({
      sourceSite: 'null',
      referringSite: '$direct',
    });
    expect(attributionSites(input({ utmSource: 'e mail', referringDomain: 'https://l.facebook.com/x' }))).toEqual({
      sourceSite: null,
      referringSite: 'facebook.com',
    });
  });
});
