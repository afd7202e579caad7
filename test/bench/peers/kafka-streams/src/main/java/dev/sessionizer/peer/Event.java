package dev.sessionizer.peer;

/**
 * One normalised event: what the session columns need from a message (the core's SessionEvent plus
 * the properties of DESIGN.md's full column list). Travels through the repartition topic in binary.
 */
final class Event {
  /** Entry columns, each its own first non-null value, page-like events first (index 0: $current_url). */
  static final String[] ENTRY_PROPS = {
    "$current_url", "$referring_domain", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid",
    "gad_source", "fbclid"
  };
  static final String[] ENTRY_COLUMNS = {
    "entry_current_url", "entry_referring_domain", "entry_utm_source", "entry_utm_medium", "entry_utm_campaign",
    "entry_utm_term", "entry_utm_content", "entry_gclid", "entry_gad_source", "entry_fbclid"
  };
  static final int URL = 0, REFERRING_DOMAIN = 1, UTM_SOURCE = 2, UTM_MEDIUM = 3, UTM_CAMPAIGN = 4, GCLID = 7,
      GAD_SOURCE = 8, FBCLID = 9;

  /** Ad click ids, taken from the entry event as a whole (PostHog's entry_ad_ids_map). */
  static final String[] AD_IDS = {
    "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "twclid", "li_fat_id", "mc_cid", "igshid", "ttclid", "epik", "qclid",
    "sccid", "_kx", "irclid"
  };

  /** First non-null by time, no page priority. */
  static final String[] FIRST_PROPS = {
    "$browser", "$browser_version", "$os", "$os_version", "$device_type", "$geoip_country_code",
    "$geoip_subdivision_1_code", "$geoip_subdivision_1_name", "$geoip_city_name", "$geoip_time_zone"
  };
  static final String[] FIRST_COLUMNS = {
    "browser", "browser_version", "os", "os_version", "device_type", "geoip_country_code", "geoip_subdivision_1_code",
    "geoip_subdivision_1_name", "geoip_city_name", "geoip_time_zone"
  };

  static final byte OTHER = 0, PAGEVIEW = 1, AUTOCAPTURE = 2, SCREEN = 3;

  long uuidHi, uuidLo;
  String event;
  byte kind;
  long teamId;
  String distinctId;
  long sessionHi, sessionLo;
  /** Microseconds since the epoch, UTC. */
  long ts;
  final String[] entry = new String[ENTRY_PROPS.length];
  final String[] adIds = new String[AD_IDS.length];
  boolean hasGclid, hasFbclid;
  final String[] first = new String[FIRST_PROPS.length];
  /** NaN when absent. */
  double viewportWidth = Double.NaN, viewportHeight = Double.NaN;
  String externalClickUrl, host, email;
  /** `$feature/<key>` properties: keys[i] and "key=value" values[i]; null when none. */
  String[] flagKeys, flagValues;

  boolean pageLike() {
    return kind == PAGEVIEW || kind == SCREEN;
  }

  static byte kindOf(String event) {
    switch (event) {
      case "$pageview":
        return PAGEVIEW;
      case "$autocapture":
        return AUTOCAPTURE;
      case "$screen":
        return SCREEN;
      default:
        return OTHER;
    }
  }

  /** The session key, as the core's sessionKey: sessions of different teams never mix. */
  String sessionKey() {
    return teamId + ":" + Text.uuidString(sessionHi, sessionLo);
  }

  byte[] serialize() {
    Bin.Writer w = new Bin.Writer();
    w.i64(uuidHi);
    w.i64(uuidLo);
    w.str(event);
    w.u8(kind);
    w.i64(teamId);
    w.str(distinctId);
    w.i64(sessionHi);
    w.i64(sessionLo);
    w.i64(ts);
    for (String s : entry) w.str(s);
    for (String s : adIds) w.str(s);
    w.u8((hasGclid ? 1 : 0) | (hasFbclid ? 2 : 0));
    for (String s : first) w.str(s);
    w.f64(viewportWidth);
    w.f64(viewportHeight);
    w.str(externalClickUrl);
    w.str(host);
    w.str(email);
    int flags = flagKeys == null ? 0 : flagKeys.length;
    w.i32(flags);
    for (int i = 0; i < flags; i++) {
      w.str(flagKeys[i]);
      w.str(flagValues[i]);
    }
    return w.bytes();
  }

  static Event deserialize(byte[] bytes) {
    Bin.Reader r = new Bin.Reader(bytes);
    Event e = new Event();
    e.uuidHi = r.i64();
    e.uuidLo = r.i64();
    e.event = r.str();
    e.kind = (byte) r.u8();
    e.teamId = r.i64();
    e.distinctId = r.str();
    e.sessionHi = r.i64();
    e.sessionLo = r.i64();
    e.ts = r.i64();
    for (int i = 0; i < e.entry.length; i++) e.entry[i] = r.str();
    for (int i = 0; i < e.adIds.length; i++) e.adIds[i] = r.str();
    int has = r.u8();
    e.hasGclid = (has & 1) != 0;
    e.hasFbclid = (has & 2) != 0;
    for (int i = 0; i < e.first.length; i++) e.first[i] = r.str();
    e.viewportWidth = r.f64();
    e.viewportHeight = r.f64();
    e.externalClickUrl = r.str();
    e.host = r.str();
    e.email = r.str();
    int flags = r.i32();
    if (flags > 0) {
      e.flagKeys = new String[flags];
      e.flagValues = new String[flags];
      for (int i = 0; i < flags; i++) {
        e.flagKeys[i] = r.str();
        e.flagValues[i] = r.str();
      }
    }
    return e;
  }
}
