package dev.sessionizer.peer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A `posthog-events` message to an {@link Event}, or the reason it is rejected: the same steps and
 * reasons as the core's normalizePostHogEvent (formats/posthog-events.ts, formats/common.ts) —
 * size bound, JSON parse of the message, the schema, the timestamp, JSON parse of the
 * `properties` string, the uuid, the $session_id rules (UUIDv7, window with tolerance), bounded
 * and well-formed strings. Never throws.
 */
final class Normalizer {
  static final int MAX_MESSAGE_BYTES = 1_048_576;
  static final int MAX_URL_LENGTH = 8_192;
  static final int MAX_FIELD_LENGTH = 1_024;
  static final long SESSION_MAX_AGE_MICROS = 24L * 3_600 * Text.MICROS_PER_SECOND;
  private static final double MAX_SAFE_INTEGER = 9_007_199_254_740_991d;
  private static final Pattern TEAM_DIGITS = Pattern.compile("^[1-9]\\d{0,15}\\z");
  private static final String FEATURE_PREFIX = "$feature/";

  private final ObjectMapper mapper;
  private final long toleranceMicros;

  Normalizer(long sessionIdToleranceMs) {
    // JSON.parse has no nesting or number-length limits; Jackson's defaults would refuse
    // messages the core accepts. Trailing tokens (`{} x`) are an error in JSON.parse: here too.
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(MAX_MESSAGE_BYTES)
            .maxNumberLength(MAX_MESSAGE_BYTES)
            .maxStringLength(Integer.MAX_VALUE)
            .build())
        .build();
    this.mapper = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.toleranceMicros = sessionIdToleranceMs * Text.MICROS_PER_MS;
  }

  private JsonNode parse(byte[] bytes) {
    try {
      JsonNode n = mapper.readTree(bytes);
      return n == null || n.isMissingNode() ? null : n;
    } catch (Exception | StackOverflowError e) {
      return null;
    }
  }

  private JsonNode parse(String text) {
    try {
      JsonNode n = mapper.readTree(text);
      return n == null || n.isMissingNode() ? null : n;
    } catch (Exception | StackOverflowError e) {
      return null;
    }
  }

  /** A JSON number that JavaScript reads as a safe positive integer. */
  private static boolean isSafePositiveInteger(JsonNode n) {
    if (!n.isNumber()) return false;
    double d = n.doubleValue();
    return d > 0 && d == Math.rint(d) && d <= MAX_SAFE_INTEGER;
  }

  /** team_id as the schema reads it, or -1: a safe positive integer, or a digit string of one. */
  private static long teamIdOf(JsonNode n) {
    if (n == null) return -1;
    if (isSafePositiveInteger(n)) return (long) n.doubleValue();
    if (n.isTextual() && TEAM_DIGITS.matcher(n.textValue()).matches()) {
      long v = Long.parseLong(n.textValue());
      return v <= (long) MAX_SAFE_INTEGER ? v : -1;
    }
    return -1;
  }

  /** Returns an {@link Event}, or the rejection reason as a String. */
  Object normalize(byte[] value) {
    if (value == null) return "schema_invalid"; // a tombstone, as the service reads it
    if (value.length > MAX_MESSAGE_BYTES) return "event_too_large";
    JsonNode msg = parse(value);
    if (msg == null) return "malformed_json";
    if (!msg.isObject()) return "schema_invalid";
    JsonNode uuid = msg.get("uuid");
    JsonNode event = msg.get("event");
    JsonNode distinctId = msg.get("distinct_id");
    JsonNode timestamp = msg.get("timestamp");
    JsonNode properties = msg.get("properties");
    if (uuid == null || !uuid.isTextual()) return "schema_invalid";
    if (event == null || !event.isTextual() || event.textValue().isEmpty()) return "schema_invalid";
    long teamId = teamIdOf(msg.get("team_id"));
    if (teamId < 0) return "schema_invalid";
    if (distinctId == null || !(distinctId.isTextual() || (distinctId.isNumber() && Double.isFinite(distinctId.doubleValue())))) {
      return "schema_invalid";
    }
    if (timestamp == null || !timestamp.isTextual()) return "schema_invalid";
    if (properties != null && !properties.isNull() && !properties.isTextual() && !properties.isObject()) return "schema_invalid";

    long ts = Text.parseTimestamp(timestamp.textValue());
    if (ts == Long.MIN_VALUE) return "timestamp_invalid";

    JsonNode props = null;
    if (properties != null && properties.isTextual()) {
      if (!properties.textValue().isEmpty()) {
        props = parse(properties.textValue());
        if (props == null) return "malformed_json";
        if (!props.isObject()) return "schema_invalid";
      }
    } else if (properties != null && properties.isObject()) {
      props = properties;
    }

    long[] id = Text.parseUuid(uuid.textValue());
    if (id == null) return "schema_invalid";

    JsonNode rawSession = props == null ? null : props.get("$session_id");
    if (rawSession == null || rawSession.isNull() || (rawSession.isTextual() && rawSession.textValue().isEmpty())) {
      return "no_session_id";
    }
    if (!rawSession.isTextual()) return "session_id_not_uuidv7";
    long[] session = Text.parseUuid(rawSession.textValue());
    if (session == null || !Text.isUuidV7(session[0], session[1])) return "session_id_not_uuidv7";
    long sessionMicros = Text.uuidV7Millis(session[0]) * Text.MICROS_PER_MS;
    if (ts < sessionMicros - toleranceMicros) return "session_id_in_future";
    if (ts >= sessionMicros + SESSION_MAX_AGE_MICROS) return "session_id_expired";

    Event e = new Event();
    e.uuidHi = id[0];
    e.uuidLo = id[1];
    e.event = Text.wellFormed(event.textValue());
    e.kind = Event.kindOf(e.event);
    e.teamId = teamId;
    String d = distinctId.isTextual() ? distinctId.textValue() : Text.jsNumber(distinctId.doubleValue());
    d = Text.wellFormed(d);
    e.distinctId = d.length() > MAX_FIELD_LENGTH ? Text.truncate(d, MAX_FIELD_LENGTH) : d;
    e.sessionHi = session[0];
    e.sessionLo = session[1];
    e.ts = ts;
    for (int i = 0; i < Event.ENTRY_PROPS.length; i++) {
      e.entry[i] = stringProperty(props, Event.ENTRY_PROPS[i], i == Event.URL ? MAX_URL_LENGTH : MAX_FIELD_LENGTH);
    }
    for (int i = 0; i < Event.AD_IDS.length; i++) e.adIds[i] = stringProperty(props, Event.AD_IDS[i], MAX_FIELD_LENGTH);
    e.hasGclid = props.has("gclid");
    e.hasFbclid = props.has("fbclid");
    for (int i = 0; i < Event.FIRST_PROPS.length; i++) e.first[i] = stringProperty(props, Event.FIRST_PROPS[i], MAX_FIELD_LENGTH);
    e.viewportWidth = numberProperty(props, "$viewport_width");
    e.viewportHeight = numberProperty(props, "$viewport_height");
    e.externalClickUrl = stringProperty(props, "$external_click_url", MAX_URL_LENGTH);
    e.host = stringProperty(props, "$host", MAX_FIELD_LENGTH);
    e.email = emailOf(msg.get("person_properties"));
    flags(props, e);
    return e;
  }

  /** common.ts stringProperty: null when absent, empty or not a string; cut to max; well-formed. */
  private static String stringProperty(JsonNode props, String key, int max) {
    JsonNode v = props.get(key);
    if (v == null || !v.isTextual()) return null;
    String s = v.textValue();
    if (s.isEmpty()) return null;
    if (s.length() > max) {
      String cut = Text.truncate(s, max);
      return cut.isEmpty() ? null : Text.wellFormed(cut);
    }
    return Text.wellFormed(s);
  }

  private static double numberProperty(JsonNode props, String key) {
    JsonNode v = props.get(key);
    return v != null && v.isNumber() ? v.doubleValue() : Double.NaN;
  }

  /** person_properties.email: the field is a JSON string in processed events (a third parse), or an object. */
  private String emailOf(JsonNode personProperties) {
    if (personProperties == null) return null;
    JsonNode pp = personProperties;
    if (pp.isTextual()) {
      String text = pp.textValue();
      if (text.isEmpty()) return null;
      pp = parse(text);
      if (pp == null) return null;
    }
    return pp.isObject() ? stringProperty(pp, "email", MAX_FIELD_LENGTH) : null;
  }

  /** `$feature/<key>` properties with a string or boolean value: the keys and `key=value`. */
  private static void flags(JsonNode props, Event e) {
    List<String> keys = null;
    List<String> values = null;
    for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = f.getKey();
      if (!name.startsWith(FEATURE_PREFIX) || name.length() == FEATURE_PREFIX.length()) continue;
      JsonNode v = f.getValue();
      String value;
      if (v.isTextual()) value = v.textValue();
      else if (v.isBoolean()) value = v.booleanValue() ? "true" : "false";
      else continue;
      String key = Text.truncate(Text.wellFormed(name.substring(FEATURE_PREFIX.length())), MAX_FIELD_LENGTH);
      if (keys == null) {
        keys = new ArrayList<>(4);
        values = new ArrayList<>(4);
      }
      keys.add(key);
      values.add(Text.truncate(key + "=" + Text.wellFormed(value), MAX_FIELD_LENGTH));
    }
    if (keys != null) {
      e.flagKeys = keys.toArray(new String[0]);
      e.flagValues = values.toArray(new String[0]);
    }
  }
}
