package dev.sessionizer.peer;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.UUID;

/**
 * The aggregate of one session: every column of DESIGN.md's `sessions` table that ingestion
 * computes (the `sessions` view derives channel_type and is_bounce from these at query time; the
 * bench's check does the same with the core's functions). Kept in a RocksDB store through a binary
 * serde: Kafka Streams' aggregate() reads, deserialises, updates, serialises and writes it back
 * for every event.
 */
final class SessionState {
  static final int MAX_URLS = 2_000, MAX_EVENT_NAMES = 2_000, MAX_HOSTS = 100, MAX_EMAILS = 10;
  private static final JsonFactory JSON = new JsonFactory();

  /** A candidate value with its order key (rank, ts, uuid): first/last-by-key picks. */
  static final class Cand {
    final int rank;
    final long ts, hi, lo;
    final Object value;

    Cand(int rank, long ts, long hi, long lo, Object value) {
      this.rank = rank;
      this.ts = ts;
      this.hi = hi;
      this.lo = lo;
      this.value = value;
    }

    int compareTo(int rank, long ts, long hi, long lo) {
      if (this.rank != rank) return Integer.compare(this.rank, rank);
      if (this.ts != ts) return Long.compare(this.ts, ts);
      return Text.compareUuid(this.hi, this.lo, hi, lo);
    }
  }

  /** The entry event as a whole (first page-like event, else first event): channel input and ad ids. */
  static final class EntryTuple {
    String source, medium, campaign, referringDomain, gclid, fbclid, gadSource;
    /** Registrable domains for the channel lookups, computed at ingestion as the sessionizer does. */
    String sourceSite, referringSite;
    String[] adIds = new String[Event.AD_IDS.length];
    boolean hasGclid, hasFbclid;
  }

  long teamId;
  long sessionHi, sessionLo;
  long startTs = Long.MAX_VALUE, endTs = Long.MIN_VALUE;
  Cand last;
  final LinkedHashSet<String> distinctIds = new LinkedHashSet<>();
  final Cand[] entry = new Cand[Event.ENTRY_PROPS.length];
  Cand exit;
  Cand entryEvent;
  final HashSet<UUID> pageviews = new HashSet<>(), autocaptures = new HashSet<>(), screens = new HashSet<>();
  final LinkedHashSet<String> urls = new LinkedHashSet<>();
  Cand lastExternalClick;
  final Cand[] first = new Cand[Event.FIRST_PROPS.length];
  Cand viewportWidth, viewportHeight;
  final LinkedHashSet<String> eventNames = new LinkedHashSet<>();
  final LinkedHashSet<String> flagKeys = new LinkedHashSet<>(), flagKeyValues = new LinkedHashSet<>();
  final LinkedHashSet<String> hosts = new LinkedHashSet<>(), emails = new LinkedHashSet<>();

  private static void addCapped(Set<String> set, String value, int cap) {
    if (value != null && set.size() < cap) set.add(value);
  }

  /** Fold one event in. Every pick is keyed by a total order ending in the uuid: arrival order never matters. */
  void add(Event e, Set<String> suffixes) {
    teamId = e.teamId;
    sessionHi = e.sessionHi;
    sessionLo = e.sessionLo;
    long ts = e.ts;
    if (ts < startTs) startTs = ts;
    if (ts > endTs) endTs = ts;
    if (last == null || last.compareTo(0, ts, e.uuidHi, e.uuidLo) < 0) last = new Cand(0, ts, e.uuidHi, e.uuidLo, e.distinctId);
    distinctIds.add(e.distinctId);

    boolean page = e.pageLike();
    int entryRank = page ? 0 : 1;
    for (int i = 0; i < entry.length; i++) {
      String v = e.entry[i];
      if (v != null && (entry[i] == null || entry[i].compareTo(entryRank, ts, e.uuidHi, e.uuidLo) > 0)) {
        entry[i] = new Cand(entryRank, ts, e.uuidHi, e.uuidLo, v);
      }
    }
    int exitRank = page ? 1 : 0;
    String url = e.entry[Event.URL];
    if (url != null && (exit == null || exit.compareTo(exitRank, ts, e.uuidHi, e.uuidLo) < 0)) {
      exit = new Cand(exitRank, ts, e.uuidHi, e.uuidLo, url);
    }
    if (entryEvent == null || entryEvent.compareTo(entryRank, ts, e.uuidHi, e.uuidLo) > 0) {
      entryEvent = new Cand(entryRank, ts, e.uuidHi, e.uuidLo, entryTuple(e, suffixes));
    }
    UUID id = null;
    if (e.kind == Event.PAGEVIEW) pageviews.add(id = new UUID(e.uuidHi, e.uuidLo));
    else if (e.kind == Event.AUTOCAPTURE) autocaptures.add(id = new UUID(e.uuidHi, e.uuidLo));
    else if (e.kind == Event.SCREEN) screens.add(id = new UUID(e.uuidHi, e.uuidLo));
    if (page) addCapped(urls, url, MAX_URLS);
    if (e.externalClickUrl != null
        && (lastExternalClick == null || lastExternalClick.compareTo(0, ts, e.uuidHi, e.uuidLo) < 0)) {
      lastExternalClick = new Cand(0, ts, e.uuidHi, e.uuidLo, e.externalClickUrl);
    }
    for (int i = 0; i < first.length; i++) {
      String v = e.first[i];
      if (v != null && (first[i] == null || first[i].compareTo(0, ts, e.uuidHi, e.uuidLo) > 0)) {
        first[i] = new Cand(0, ts, e.uuidHi, e.uuidLo, v);
      }
    }
    if (!Double.isNaN(e.viewportWidth) && (viewportWidth == null || viewportWidth.compareTo(0, ts, e.uuidHi, e.uuidLo) > 0)) {
      viewportWidth = new Cand(0, ts, e.uuidHi, e.uuidLo, e.viewportWidth);
    }
    if (!Double.isNaN(e.viewportHeight) && (viewportHeight == null || viewportHeight.compareTo(0, ts, e.uuidHi, e.uuidLo) > 0)) {
      viewportHeight = new Cand(0, ts, e.uuidHi, e.uuidLo, e.viewportHeight);
    }
    addCapped(eventNames, e.event, MAX_EVENT_NAMES);
    if (e.flagKeys != null) {
      for (int i = 0; i < e.flagKeys.length; i++) {
        flagKeys.add(e.flagKeys[i]);
        flagKeyValues.add(e.flagValues[i]);
      }
    }
    addCapped(hosts, e.host, MAX_HOSTS);
    addCapped(emails, e.email, MAX_EMAILS);
  }

  private static EntryTuple entryTuple(Event e, Set<String> suffixes) {
    EntryTuple t = new EntryTuple();
    t.source = e.entry[Event.UTM_SOURCE];
    t.medium = e.entry[Event.UTM_MEDIUM];
    t.campaign = e.entry[Event.UTM_CAMPAIGN];
    t.referringDomain = e.entry[Event.REFERRING_DOMAIN];
    t.gclid = e.entry[Event.GCLID];
    t.fbclid = e.entry[Event.FBCLID];
    t.gadSource = e.entry[Event.GAD_SOURCE];
    String normalisedSource = Text.normaliseLower(t.source);
    String s = Text.registrableDomain(normalisedSource == null ? "" : normalisedSource, suffixes);
    t.sourceSite = s.isEmpty() ? null : s;
    String r = Text.registrableDomain(t.referringDomain == null ? "" : t.referringDomain, suffixes);
    t.referringSite = r.isEmpty() ? null : r;
    System.arraycopy(e.adIds, 0, t.adIds, 0, t.adIds.length);
    t.hasGclid = e.hasGclid;
    t.hasFbclid = e.hasFbclid;
    return t;
  }

  // ---- binary serde (the state store and its changelog) ----

  private static void writeCand(Bin.Writer w, Cand c) {
    if (c == null) {
      w.u8(0);
      return;
    }
    w.u8(1);
    w.u8(c.rank);
    w.i64(c.ts);
    w.i64(c.hi);
    w.i64(c.lo);
  }

  private static void writeStrCand(Bin.Writer w, Cand c) {
    writeCand(w, c);
    if (c != null) w.str((String) c.value);
  }

  private static Cand readCand(Bin.Reader r, int kind) {
    if (r.u8() == 0) return null;
    int rank = r.u8();
    long ts = r.i64();
    long hi = r.i64();
    long lo = r.i64();
    Object value;
    if (kind == 0) value = r.str();
    else if (kind == 1) value = r.f64();
    else value = readTuple(r);
    return new Cand(rank, ts, hi, lo, value);
  }

  private static void writeTuple(Bin.Writer w, EntryTuple t) {
    w.str(t.source);
    w.str(t.medium);
    w.str(t.campaign);
    w.str(t.referringDomain);
    w.str(t.gclid);
    w.str(t.fbclid);
    w.str(t.gadSource);
    w.str(t.sourceSite);
    w.str(t.referringSite);
    for (String s : t.adIds) w.str(s);
    w.u8((t.hasGclid ? 1 : 0) | (t.hasFbclid ? 2 : 0));
  }

  private static EntryTuple readTuple(Bin.Reader r) {
    EntryTuple t = new EntryTuple();
    t.source = r.str();
    t.medium = r.str();
    t.campaign = r.str();
    t.referringDomain = r.str();
    t.gclid = r.str();
    t.fbclid = r.str();
    t.gadSource = r.str();
    t.sourceSite = r.str();
    t.referringSite = r.str();
    for (int i = 0; i < t.adIds.length; i++) t.adIds[i] = r.str();
    int has = r.u8();
    t.hasGclid = (has & 1) != 0;
    t.hasFbclid = (has & 2) != 0;
    return t;
  }

  private static void writeStrings(Bin.Writer w, Set<String> set) {
    w.i32(set.size());
    for (String s : set) w.str(s);
  }

  private static void readStrings(Bin.Reader r, Set<String> set) {
    int n = r.i32();
    for (int i = 0; i < n; i++) set.add(r.str());
  }

  private static void writeUuids(Bin.Writer w, Set<UUID> set) {
    w.i32(set.size());
    for (UUID u : set) {
      w.i64(u.getMostSignificantBits());
      w.i64(u.getLeastSignificantBits());
    }
  }

  private static void readUuids(Bin.Reader r, Set<UUID> set) {
    int n = r.i32();
    for (int i = 0; i < n; i++) set.add(new UUID(r.i64(), r.i64()));
  }

  byte[] serialize() {
    Bin.Writer w = new Bin.Writer();
    w.i64(teamId);
    w.i64(sessionHi);
    w.i64(sessionLo);
    w.i64(startTs);
    w.i64(endTs);
    writeStrCand(w, last);
    writeStrings(w, distinctIds);
    for (Cand c : entry) writeStrCand(w, c);
    writeStrCand(w, exit);
    writeCand(w, entryEvent);
    if (entryEvent != null) writeTuple(w, (EntryTuple) entryEvent.value);
    writeUuids(w, pageviews);
    writeUuids(w, autocaptures);
    writeUuids(w, screens);
    writeStrings(w, urls);
    writeStrCand(w, lastExternalClick);
    for (Cand c : first) writeStrCand(w, c);
    writeCand(w, viewportWidth);
    if (viewportWidth != null) w.f64((Double) viewportWidth.value);
    writeCand(w, viewportHeight);
    if (viewportHeight != null) w.f64((Double) viewportHeight.value);
    writeStrings(w, eventNames);
    writeStrings(w, flagKeys);
    writeStrings(w, flagKeyValues);
    writeStrings(w, hosts);
    writeStrings(w, emails);
    return w.bytes();
  }

  static SessionState deserialize(byte[] bytes) {
    Bin.Reader r = new Bin.Reader(bytes);
    SessionState s = new SessionState();
    s.teamId = r.i64();
    s.sessionHi = r.i64();
    s.sessionLo = r.i64();
    s.startTs = r.i64();
    s.endTs = r.i64();
    s.last = readCand(r, 0);
    readStrings(r, s.distinctIds);
    for (int i = 0; i < s.entry.length; i++) s.entry[i] = readCand(r, 0);
    s.exit = readCand(r, 0);
    s.entryEvent = readCand(r, 2);
    readUuids(r, s.pageviews);
    readUuids(r, s.autocaptures);
    readUuids(r, s.screens);
    readStrings(r, s.urls);
    s.lastExternalClick = readCand(r, 0);
    for (int i = 0; i < s.first.length; i++) s.first[i] = readCand(r, 0);
    s.viewportWidth = readCand(r, 1);
    s.viewportHeight = readCand(r, 1);
    readStrings(r, s.eventNames);
    readStrings(r, s.flagKeys);
    readStrings(r, s.flagKeyValues);
    readStrings(r, s.hosts);
    readStrings(r, s.emails);
    return s;
  }

  // ---- the row out: one JSON object, the columns named as in DESIGN.md ----

  private static String str(Cand c) {
    return c == null ? null : (String) c.value;
  }

  private static void field(JsonGenerator g, String name, String value) throws IOException {
    if (value == null) g.writeNullField(name);
    else g.writeStringField(name, value);
  }

  private static void number(JsonGenerator g, String name, Cand c) throws IOException {
    if (c == null) {
      g.writeNullField(name);
      return;
    }
    double d = (Double) c.value;
    if (d == Math.rint(d) && Math.abs(d) < 9.007199254740992e15) g.writeNumberField(name, (long) d);
    else g.writeNumberField(name, d);
  }

  private static void array(JsonGenerator g, String name, Iterable<String> values) throws IOException {
    g.writeArrayFieldStart(name);
    for (String v : values) g.writeString(v);
    g.writeEndArray();
  }

  byte[] toJson(long insertedAtMillis) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(2_048);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeNumberField("team_id", teamId);
      g.writeStringField("session_id", Text.uuidString(sessionHi, sessionLo));
      g.writeStringField("session_timestamp", Text.formatTimestamp(Text.uuidV7Millis(sessionHi) * Text.MICROS_PER_MS));
      field(g, "distinct_id", str(last));
      array(g, "distinct_ids", distinctIds);
      g.writeStringField("start_timestamp", Text.formatTimestamp(startTs));
      g.writeStringField("end_timestamp", Text.formatTimestamp(endTs));
      g.writeNumberField("session_duration", Text.floorSeconds(endTs) - Text.floorSeconds(startTs));
      String entryUrl = str(entry[Event.URL]);
      field(g, "entry_current_url", entryUrl);
      field(g, "entry_pathname", Text.pathnameOf(entryUrl));
      field(g, "entry_hostname", Text.hostnameOf(entryUrl));
      String exitUrl = str(exit);
      field(g, "exit_current_url", exitUrl);
      field(g, "exit_pathname", Text.pathnameOf(exitUrl));
      field(g, "exit_hostname", Text.hostnameOf(exitUrl));
      for (int i = 1; i < entry.length; i++) field(g, Event.ENTRY_COLUMNS[i], str(entry[i]));
      EntryTuple t = entryEvent == null ? new EntryTuple() : (EntryTuple) entryEvent.value;
      for (int i = 0; i < Event.AD_IDS.length; i++) field(g, "entry_" + Event.AD_IDS[i], t.adIds[i]);
      g.writeBooleanField("entry_has_gclid", t.hasGclid);
      g.writeBooleanField("entry_has_fbclid", t.hasFbclid);
      g.writeObjectFieldStart("channel_input");
      field(g, "utm_source", t.source);
      field(g, "utm_medium", t.medium);
      field(g, "utm_campaign", t.campaign);
      field(g, "referring_domain", t.referringDomain);
      field(g, "gclid", t.gclid);
      field(g, "gad_source", t.gadSource);
      field(g, "fbclid", t.fbclid);
      field(g, "source_site", t.sourceSite);
      field(g, "referring_site", t.referringSite);
      g.writeEndObject();
      g.writeNumberField("pageview_count", pageviews.size());
      g.writeNumberField("autocapture_count", autocaptures.size());
      g.writeNumberField("screen_count", screens.size());
      array(g, "urls", urls);
      g.writeNumberField("num_uniq_urls", urls.size());
      field(g, "last_external_click_url", str(lastExternalClick));
      for (int i = 0; i < first.length; i++) field(g, Event.FIRST_COLUMNS[i], str(first[i]));
      number(g, "viewport_width", viewportWidth);
      number(g, "viewport_height", viewportHeight);
      array(g, "event_names", eventNames);
      array(g, "flag_keys", flagKeys);
      array(g, "flag_key_values", flagKeyValues);
      array(g, "hosts", hosts);
      array(g, "emails", emails);
      g.writeStringField("max_inserted_at", Text.formatTimestamp(insertedAtMillis * Text.MICROS_PER_MS));
      g.writeStringField("session_id_source", "client");
      g.writeEndObject();
    } catch (IOException err) {
      throw new UncheckedIOException(err);
    }
    return out.toByteArray();
  }
}
