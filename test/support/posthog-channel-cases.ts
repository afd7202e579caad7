/**
 * Every assertion about default and custom channel types in PostHog's
 * posthog/hogql/database/schema/test/test_channel_type.py (TestChannelType) and the channel-type
 * assertions of test_sessions_v3.py, as data: the event (or person-initial) properties PostHog
 * sets, and the channel type it expects. The unit test runs them through channelType, the
 * integration test through the ClickHouse expression on the real engine.
 *
 * PostHog builds the channel input from properties as follows, and so does `inputOf`: utm_*,
 * $referring_domain and gad_source as strings (toString: numbers become their decimal text, a
 * missing property is NULL), has_gclid/has_fbclid as isNotNull(nullIf(nullIf(x, ''), 'null')).
 */
import { hasClickId, type ChannelInput } from '@sessionizer/core';

export type Properties = Readonly<Record<string, string | number>>;

export interface PostHogChannelCase {
  /** PostHog's test method, and which assertion of it. */
  readonly name: string;
  readonly properties: Properties;
  readonly expected: string;
}

function str(value: string | number | undefined): string | null {
  return value === undefined ? null : String(value);
}

/** The channel input PostHog computes from a session's entry event properties. */
export function inputOf(p: Properties): ChannelInput {
  return {
    utmSource: str(p['utm_source']),
    utmMedium: str(p['utm_medium']),
    utmCampaign: str(p['utm_campaign']),
    referringDomain: str(p['$referring_domain']),
    hasGclid: hasClickId(str(p['gclid'])),
    hasFbclid: hasClickId(str(p['fbclid'])),
    gadSource: str(p['gad_source']),
  };
}

/**
 * _get_initial_channel_type_from_wild_clicks: the properties of a click on `url` coming from
 * `referrer` (Python's parse_qs drops blank values; no referrer is `$direct`).
 */
function wildClick(url: string, referrer: string): Properties {
  const query = new URL(url).searchParams;
  const out: Record<string, string> = {};
  for (const key of ['utm_source', 'utm_medium', 'utm_campaign', 'gclid', 'gad_source', 'msclkid', 'fbclid']) {
    const value = query.get(key);
    if (value !== null && value !== '') out[key] = value;
  }
  out['$referring_domain'] = referrer === '' ? '$direct' : new URL(referrer).host;
  return out;
}

/** test_channel_type.py, TestChannelType: the $initial_* person properties, renamed to event properties. */
export const POSTHOG_DEFAULT_CASES: readonly PostHogChannelCase[] = [
  { name: 'test_direct', properties: { $referring_domain: '$direct' }, expected: 'Direct' },
  {
    name: 'test_direct_empty_string',
    properties: { $referring_domain: '$direct', utm_source: '', utm_medium: '', utm_campaign: '', gclid: '', gad_source: '' },
    expected: 'Direct',
  },
  {
    name: 'test_direct_null_string',
    properties: {
      $referring_domain: '$direct',
      utm_source: 'null',
      utm_medium: 'null',
      utm_campaign: 'null',
      gclid: 'null',
      gad_source: 'null',
    },
    expected: 'Direct',
  },
  { name: 'test_cross_network', properties: { $referring_domain: '$direct', utm_campaign: 'cross-network' }, expected: 'Cross Network' },
  { name: 'test_paid_shopping_domain', properties: { $referring_domain: 'www.ebay.co.uk', utm_medium: 'ppc' }, expected: 'Paid Shopping' },
  { name: 'test_paid_shopping_source', properties: { utm_source: 'ebay', utm_medium: 'ppc' }, expected: 'Paid Shopping' },
  { name: 'test_paid_shopping_campaign', properties: { utm_campaign: 'shopping', utm_medium: 'ppc' }, expected: 'Paid Shopping' },
  { name: 'test_paid_search', properties: { $referring_domain: 'www.google.co.uk', gclid: 'some-gclid' }, expected: 'Paid Search' },
  { name: 'test_paid_search_source', properties: { utm_source: 'yahoo', utm_medium: 'ppc' }, expected: 'Paid Search' },
  { name: 'test_paid_video', properties: { $referring_domain: 'youtube.com', utm_medium: 'cpc' }, expected: 'Paid Video' },
  { name: 'test_paid_video_source', properties: { utm_source: 'youtube.com', utm_medium: 'cpc' }, expected: 'Paid Video' },
  { name: 'test_organic_video', properties: { $referring_domain: 'youtube.com' }, expected: 'Organic Video' },
  {
    name: 'test_direct_with_red_herring_utm_tags_is_direct',
    properties: { $referring_domain: '$direct', utm_source: 'what', utm_medium: 'who', utm_campaign: 'slim shady' },
    expected: 'Direct',
  },
  { name: 'test_no_info_is_unknown', properties: {}, expected: 'Unknown' },
  { name: 'test_unknown_domain_is_referral', properties: { $referring_domain: 'some-unknown-domain.example.com' }, expected: 'Referral' },
  {
    name: 'test_doesnt_fail_on_numbers',
    properties: { $referring_domain: 'example.com', utm_source: 123, utm_medium: 123, utm_campaign: 123 },
    expected: 'Referral',
  },
  { name: 'test_empty_session', properties: {}, expected: 'Unknown' },
  {
    name: 'test_empty_string_session',
    // referring_domain (not $referring_domain) is not a property PostHog reads
    properties: { utm_source: '', utm_medium: '', utm_campaign: '', referring_domain: '', gclid: '', gad_source: '' },
    expected: 'Unknown',
  },
  {
    name: 'test_yahoo_search_for_shoes',
    properties: wildClick(
      'https://www.temu.com/subject/n9/googleshopping-landingpage-a-psurl.html?_bg_fs=1&_p_rfs=1&_x_ads_sub_channel=shopping&_x_vst_scene=adg&mkt_rec=1&goods_id=601099512027500&sku_id=17592188550581&_x_ns_sku_id=17592188550581&_x_ads_channel=bing&_x_gmc_account=3429411&_x_gmc_catalog=1080172&_x_ads_creative_id=82326302656241&_x_ns_device=c&_x_ads_account=176202708&_x_ns_match_type=e&_x_ns_msclkid=98833ce81fa416f104e8599a17a48b7d&_x_ads_set=519351414&_x_ns_source=o&_x_ads_id=1317217234030436&msclkid=98833ce81fa416f104e8599a17a48b7d&utm_source=bing&utm_medium=cpc&utm_campaign=Bing%E8%B4%AD%E7%89%A9_GB_ROI_31148%E6%88%B7%E5%A4%96%E8%BF%90%E5%8A%A8_%E5%85%9C%E5%BA%95_%E9%80%9A%E6%8A%95_CHERIE_0812&utm_term=4585925565374752&utm_content=Bing%E8%B4%AD%E7%89%A9_GB_ROI_31148%E6%88%B7%E5%A4%96%E8%BF%90%E5%8A%A8_%E5%85%9C%E5%BA%95_%E9%80%9A%E6%8A%95_CHERIE_0812_2&adg_ctx=f-939d4ecb',
      'https://uk.search.yahoo.com/',
    ),
    expected: 'Paid Search',
  },
  {
    name: 'test_chrome_google_search_for_shoes',
    properties: wildClick(
      'https://www.vivaia.com/item/square-toe-v-cut-flats-p_10003645.html?gid=10011676&currency=GBP&shipping_country_code=GB&gad_source=1&gclid=CjwKCAiA98WrBhAYEiwA2WvhOuiyZpOvzXUVBP0KNplo9EFUSYmm4-gaxt_nFGB4knYLxi-l909iYxoC3OsQAvD_BwE',
      '',
    ),
    expected: 'Paid Search',
  },
  {
    name: 'test_firefox_google_search_for_shoes',
    properties: wildClick(
      'https://www.allbirds.co.uk/products/mens-wool-runner-mizzles-deep-emerald?gad_source=1&size=uk-7&utm_campaign=PMax%20%2F%2F%20UK%20%2F%2F%20Lifestyle%20Shoes&utm_content=&utm_medium=pmax&utm_source=google&utm_term=',
      '',
    ),
    expected: 'Paid Search',
  },
  {
    name: 'test_daily_mail_ad_click',
    properties: wildClick(
      'https://www.vivaia.com/item/square-toe-v-cut-flats-p_10003645.html?gid=10011676&currency=GBP&shipping_country_code=GB&gclid=EAIaIQobChMIxvGy5rr_ggMVYi0GAB0KSAumEAEYASABEgLZ2PD_BwE',
      'https://2bb5cd7f10ba63d8b55ecfac1a3948db.safeframe.googlesyndication.com/',
    ),
    expected: 'Paid Unknown',
  },
  {
    name: 'test_google_organic',
    properties: wildClick('https://www.office.co.uk/', 'https://www.google.com/'),
    expected: 'Organic Search',
  },
  {
    name: 'test_youtube_organic',
    properties: wildClick('https://twitter.com/hbomberguy', 'https://www.youtube.com/'),
    expected: 'Organic Video',
  },
  {
    name: 'test_youtube_sidebar_ad',
    properties: wildClick(
      'https://www.quooker.co.uk/?gclid=CjwKCAiAmsurBhBvEiwA6e-WPNVcMzaGnrW8G2Wd4Ye-dB5GZMPxohf-_sJRqThISXVzS97mq4s2MBoCK_wQAvD_BwE',
      'https://www.youtube.com/',
    ),
    expected: 'Paid Video',
  },
  {
    name: 'test_youtube_video_ad',
    properties: wildClick(
      'https://www.quooker.co.uk/?gclid=CjwKCAiAmsurBhBvEiwA6e-WPNVcMzaGnrW8G2Wd4Ye-dB5GZMPxohf-_sJRqThISXVzS97mq4s2MBoCK_wQAvD_BwE',
      'https://www.youtube.com/',
    ),
    expected: 'Paid Video',
  },
  {
    name: 'test_facebook_sidebar_ad',
    properties: wildClick(
      'https://www.tothefairest.com/shop/?utm_source=facebook&utm_medium=cpc&utm_campaign=120201466136570051&fbclid=IwAR30EpkagUJ3vLo7_tl0R8FjnA3vnm5d6jzHvjwhNCm4kXDsAmTfDsckJBc',
      'https://l.facebook.com/',
    ),
    expected: 'Paid Social',
  },
  {
    name: 'test_facebook_feed_ad',
    properties: wildClick(
      'https://www.loopearplugs.com/products/switch?utm_source=facebook&utm_medium=paid&utm_campaign=UK_EN_TOF_Purchase_BAU_ABO_NoScale_19.05.23&utm_content=UK_EN_TOF-Fashion-Interest-TOF_AllPlacements_AllGenders_18-65%2B_Carouselimage-Mix-3in1-v2_carousel-image_Question-overstimulation-v1_All_Purchase_LP-Switch_Highest-Value_BAU_Switch_NA&utm_term=120201603163080541&fbclid=IwAR3KhttbYqH0GWskV5LGQKXnPKmHwaKdW8gvHbEPHR5IYX8GDf2hhxAslso',
      'https://l.facebook.com/',
    ),
    expected: 'Paid Social',
  },
  {
    name: 'test_facebook_feed_organic_link',
    properties: wildClick(
      'https://lifehacker.com/get-two-of-obsidian-entertainments-best-pc-rpgs-for-fre-1845845998?fbclid=IwAR1ZEOUVr76FRjZWnIio-v0gl5WWvd8soknOd6W6h580Grk34-Jpl1ai-kU',
      'https://l.facebook.com/',
    ),
    expected: 'Organic Social',
  },
  {
    name: 'test_bing_ad_click (chrome)',
    properties: wildClick(
      'https://www.mrporter.com/en-gb/mens/product/brunello-cucinelli/shoes/espadrilles/suede-espadrilles/1647597324114522?cm_mmc=sea&vtp00=BING&vtp01=SEAU&vtp02=483499616&vtp03=1239150613976957&vtp04=&vtp05=&vtp06=pla-4581046492826348&vtp07=&vtp08=&vtp09=e&vtp10=o&vtp11=c&vtp12=77447044368184&vtp13=shoes&vtp14=&vtp15=MR%20PORTER&vtp16=0400639982683&vtp17=GB&vtp18=EN&vtp19=4581046492826348&msclkid=f72b49e2bf2719cb4ee22c91ac4963a7&utm_source=bing&utm_medium=cpc&utm_campaign=BNG%3AMRP%3AEU%3AGB%3ALO%3AENG%3ASEAU%3APLA%3ASLR%3AMXO%3ANEW%3AMN%3ABRUNELLO-CUCINELLI%3ALV0%3ALV1%3ALV2%3AXXX%3A14%3AEMPTY%3A&utm_term=4581046492826348&utm_content=GOO%3AMRP%3AEU%3AGB%3ALO%3AENG%3ASEAU%3APLA%3ASLR%3AMXO%3ANEW%3AMN%3ABRUNELLO-CUCINELLI%3ASHOES%3ASUEDE_SHOES%3ASUEDE_SHOES%3AXXX%3A14%3AEMPTY%3A',
      'https://www.bing.com/',
    ),
    expected: 'Paid Search',
  },
  {
    name: 'test_bing_ad_click (firefox)',
    properties: wildClick(
      'https://www.nisbets.co.uk/nisbets-essentials-chefs-clog-black-3839/b979-3839?vatToggle=incvat&plaid=1&cm_mmc=BingPLA-_-710225369-_-1246847484880804-_-B979-3839&cm_mmca1=bi_710225369_1246847484880804_77928093437482_pla-4581527532440033_c_&utm_id=bing_710225369_1246847484880804_77928093437482_pla-4581527532440033%3Apla-4581527532440033_c&kpid=bi_cmp-710225369_adg-1246847484880804_ad-77928093437482_pla-4581527532440033_dev-c_ext-_prd-B979-3839_sig-febaceddde9f13596573abaecd6840bc&utm_source=bing&utm_medium=cpc&utm_campaign=8+-+Shopping+-+Clothing&utm_term=4581527532440033&utm_content=Clothing',
      '',
    ),
    expected: 'Paid Search',
  },
  {
    name: 'test_bing_organic_click',
    properties: wildClick('https://www.schuh.co.uk/', 'https://www.bing.com/'),
    expected: 'Organic Search',
  },
  {
    name: 'test_duckduckgo_organic_click',
    properties: wildClick('https://www.asos.com/women/shoes/cat/?cid=4172', 'https://duckduckgo.com/'),
    expected: 'Organic Search',
  },
  {
    name: 'test_duckduckgo_paid_click',
    properties: wildClick(
      'https://www.temu.com/uk/kuiper/un2.html?_p_rfs=1&subj=un-search1&_p_jump_id=831&_x_vst_scene=adg&search_key=.%20shoes&_x_ads_sub_channel=search&_x_ads_channel=bing&_x_ads_account=176202190&_x_ads_set=519193183&_x_ads_id=1316117718217619&_x_ads_creative_id=82257583982288&_x_ns_source=s&_x_ns_msclkid=0c97748ea8581c0fa51611f9afccba18&_x_ns_match_type=e&_x_ns_bid_match_type=be&_x_ns_query=shoes&_x_ns_keyword=.%20shoes&_x_ns_device=c&_x_ns_targetid=kwd-82258273368290%3Aloc-188&_x_ns_extensionid=&msclkid=0c97748ea8581c0fa51611f9afccba18&utm_source=bing&utm_medium=cpc&utm_campaign=0725_WJJ_UK_KW_web-app-purchase-offline%7Cweb-purchase-offline_UK%E9%AB%98%E8%8A%B1%E8%B4%B9%E8%AF%8D9533&utm_term=.%20shoes&utm_content=0725_WJJ-%E9%80%9A%E6%8A%95-UK_UK_%E7%BB%9F%E4%B8%80%E6%90%9C%E7%B4%A2%E9%A1%B5%20%E3%80%90%E7%9B%B4%E6%8E%A5%E6%8A%95%E6%94%BE%E7%94%A8%E3%80%91_webtoapp_EXACT_UK%E9%AB%98%E8%8A%B1%E8%B4%B9%E8%AF%8D4977&adg_ctx=f-939d4ecb',
      'https://duckduckgo.com/',
    ),
    expected: 'Paid Search',
  },
  { name: 'test_fbclid_only', properties: wildClick('https://xyz.com/?fbclid=ABC', ''), expected: 'Organic Social' },
  {
    name: 'test_zendesk_ticket_14945 (Paid with a capital P)',
    properties: {
      utm_source: 'Facebook',
      utm_medium: 'Paid',
      utm_campaign: 'Foo',
      referring_domain: 'l.facebook.com',
      gclid: '',
      gad_source: '',
    },
    expected: 'Paid Social',
  },
  {
    name: 'test_zendesk_ticket_14945 (medium email beats a search referrer)',
    properties: { utm_source: 'substack', utm_medium: 'email', $referring_domain: 'bing.com' },
    expected: 'Email',
  },
  {
    name: 'test_zendesk_ticket_14945 (medium affiliate)',
    properties: { utm_source: 'Foo', utm_medium: 'affiliate', $referring_domain: 'bing.com' },
    expected: 'Affiliate',
  },
  {
    name: 'test_zendesk_ticket_14945 (medium partnership)',
    properties: { utm_source: 'Foo', utm_medium: 'partnership', $referring_domain: 'foo.com' },
    expected: 'Affiliate',
  },
  {
    name: 'test_hacker_news (referrer)',
    properties: {
      utm_source: '',
      utm_medium: 'in-product',
      utm_campaign: 'empty-state-docs-link',
      $referring_domain: 'news.ycombinator.com',
      gclid: '',
      gad_source: '',
    },
    expected: 'Organic Social',
  },
  {
    name: 'test_hacker_news (source)',
    properties: {
      utm_source: 'news.ycombinator.com',
      utm_medium: 'in-product',
      utm_campaign: 'empty-state-docs-link',
      $referring_domain: '$direct',
      gclid: '',
      gad_source: '',
    },
    expected: 'Organic Social',
  },
  {
    name: 'test_google_plus (source)',
    properties: { utm_source: 'plus.google.com', $referring_domain: '$direct' },
    expected: 'Organic Social',
  },
  { name: 'test_google_plus (referrer)', properties: { $referring_domain: 'plus.google.com' }, expected: 'Organic Social' },
  { name: 'test_gmail_app', properties: { $referring_domain: 'com.google.android.gm' }, expected: 'Email' },
  // test_sessions_v3.py: test_channel_type and test_session_dot_channel_type
  { name: 'test_sessions_v3 test_channel_type', properties: { gad_source: '1' }, expected: 'Paid Search' },
  { name: 'test_sessions_v3 test_session_dot_channel_type', properties: { gad_source: '1' }, expected: 'Paid Search' },
];

/** A condition as PostHog's CustomChannelCondition. */
interface Condition {
  readonly key: string;
  readonly op: string;
  readonly value: string | readonly string[];
}

export interface PostHogCustomCase {
  readonly name: string;
  readonly properties: Properties;
  readonly rules: readonly { channel_type: string; combiner: 'AND' | 'OR'; items: readonly Condition[] }[];
  readonly expected: string;
}

const rule = (channelType: string, ...items: Condition[]) => ({ channel_type: channelType, combiner: 'AND' as const, items });

/** test_channel_type.py test_custom_channel_type, every assertion. */
export const POSTHOG_CUSTOM_CASES: readonly PostHogCustomCase[] = [
  {
    name: 'a custom channel type for a specific utm_source',
    properties: { utm_source: 'test' },
    rules: [rule('Test', { key: 'utm_source', op: 'exact', value: 'test' })],
    expected: 'Test',
  },
  {
    name: 'an array of values',
    properties: { utm_source: 'test' },
    rules: [rule('Test', { key: 'utm_source', op: 'exact', value: ['test', 'test2'] })],
    expected: 'Test',
  },
  {
    name: 'an array of a single value',
    properties: { utm_source: 'test' },
    rules: [rule('Test', { key: 'utm_source', op: 'exact', value: ['test'] })],
    expected: 'Test',
  },
  {
    name: 'an array of conditions',
    properties: { utm_source: 's', utm_medium: 'm' },
    rules: [rule('Test', { key: 'utm_source', op: 'exact', value: 's' }, { key: 'utm_medium', op: 'exact', value: 'm' })],
    expected: 'Test',
  },
  {
    name: 'an array of rules',
    properties: { utm_source: '2' },
    rules: [rule('Test1', { key: 'utm_source', op: 'exact', value: '1' }), rule('Test2', { key: 'utm_source', op: 'exact', value: '2' })],
    expected: 'Test2',
  },
  {
    name: 'pathname',
    properties: { $current_url: 'https://www.google.com/some/path' },
    rules: [rule('Test', { key: 'pathname', op: 'exact', value: '/some/path' })],
    expected: 'Test',
  },
  {
    name: 'hostname',
    properties: { $current_url: 'https://google.com/some/path' },
    rules: [rule('Test', { key: 'hostname', op: 'exact', value: 'google.com' })],
    expected: 'Test',
  },
  {
    name: 'hostname with port',
    properties: { $current_url: 'https://google.com:3000/some/path' },
    rules: [rule('Test', { key: 'hostname', op: 'exact', value: 'google.com' })],
    expected: 'Test',
  },
  {
    name: 'url',
    properties: { $current_url: 'https://www.google.com/some/path' },
    rules: [rule('Test', { key: 'url', op: 'icontains', value: '/some/path' })],
    expected: 'Test',
  },
];
