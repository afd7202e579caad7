package dev.sessionizer.peer;

import java.math.BigDecimal;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Ports of the core's small text functions (packages/core/src: limits.ts, uuid.ts, time.ts,
 * url.ts, channel/domain.ts) with the same semantics, so the peer's sessions can equal the oracle's.
 * Java strings are UTF-16 like JavaScript's, so lengths and truncation count the same units.
 */
final class Text {
  private Text() {}

  static final long MICROS_PER_MS = 1_000L;
  static final long MICROS_PER_SECOND = 1_000_000L;

  // ---- limits.ts ----

  /** Cut to at most {@code max} UTF-16 units without splitting a surrogate pair. */
  static String truncate(String value, int max) {
    if (value.length() <= max) return value;
    int end = max;
    if (Character.isHighSurrogate(value.charAt(end - 1))) end -= 1;
    return value.substring(0, end);
  }

  /** Lone surrogates (JSON can carry them as escapes) become U+FFFD, as ClickHouse would refuse them. */
  static String wellFormed(String value) {
    int n = value.length();
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (Character.isSurrogate(c)) return replaceLoneSurrogates(value);
    }
    return value;
  }

  private static String replaceLoneSurrogates(String value) {
    StringBuilder sb = new StringBuilder(value.length());
    int n = value.length();
    for (int i = 0; i < n; i++) {
      char c = value.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(value.charAt(i + 1))) {
        sb.append(c).append(value.charAt(i + 1));
        i++;
      } else if (Character.isSurrogate(c)) {
        sb.append('\uFFFD');
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  // ---- uuid.ts ----

  private static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  /** The 128 bits of a hyphenated UUID of any version (any case), or null: {hi, lo}. */
  static long[] parseUuid(String value) {
    if (value.length() != 36) return null;
    long hi = 0;
    long lo = 0;
    int nibbles = 0;
    for (int i = 0; i < 36; i++) {
      char c = value.charAt(i);
      if (i == 8 || i == 13 || i == 18 || i == 23) {
        if (c != '-') return null;
        continue;
      }
      int h = hex(c);
      if (h < 0) return null;
      if (nibbles < 16) hi = (hi << 4) | h;
      else lo = (lo << 4) | h;
      nibbles++;
    }
    return new long[] {hi, lo};
  }

  /** Version 7 and the RFC 4122 variant. */
  static boolean isUuidV7(long hi, long lo) {
    return ((hi >>> 12) & 0xF) == 7 && ((lo >>> 62) & 0x3) == 2;
  }

  static long uuidV7Millis(long hi) {
    return hi >>> 16;
  }

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  /** Canonical lowercase text. */
  static String uuidString(long hi, long lo) {
    char[] out = new char[36];
    int p = 0;
    for (int i = 0; i < 32; i++) {
      if (i == 8 || i == 12 || i == 16 || i == 20) out[p++] = '-';
      long word = i < 16 ? hi : lo;
      int shift = 60 - 4 * (i % 16);
      out[p++] = HEX[(int) ((word >>> shift) & 0xF)];
    }
    return new String(out);
  }

  /** Same order as comparing canonical texts: unsigned, high word first. */
  static int compareUuid(long aHi, long aLo, long bHi, long bLo) {
    int c = Long.compareUnsigned(aHi, bHi);
    return c != 0 ? c : Long.compareUnsigned(aLo, bLo);
  }

  // ---- time.ts ----

  // JavaScript's \s is Unicode whitespace; Java's is ASCII only, so it is spelled out. \z: JS's $.
  private static final Pattern TIMESTAMP = Pattern.compile(
      "^(\\d{4})-(\\d{2})-(\\d{2})[ T](\\d{2}):(\\d{2}):(\\d{2})(?:[.,](\\d{1,9}))?"
          + "[\\t\\n\\x0B\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff]*"
          + "(Z|z|[+-]\\d{2}(?::?\\d{2})?)?\\z");

  private static long daysFromCivil(long y, long m, long d) {
    long yy = m <= 2 ? y - 1 : y;
    long era = Math.floorDiv(yy, 400);
    long yoe = yy - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146_097 + doe - 719_468;
  }

  private static int daysInMonth(int y, int m) {
    if (m == 2) return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28;
    return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
  }

  /** Microseconds since the epoch, or Long.MIN_VALUE when not a valid timestamp (time.ts parseTimestamp). */
  static long parseTimestamp(String value) {
    if (value.length() > 40) return Long.MIN_VALUE;
    Matcher m = TIMESTAMP.matcher(value);
    if (!m.matches()) return Long.MIN_VALUE;
    int year = Integer.parseInt(m.group(1));
    int month = Integer.parseInt(m.group(2));
    int day = Integer.parseInt(m.group(3));
    int hour = Integer.parseInt(m.group(4));
    int minute = Integer.parseInt(m.group(5));
    int second = Integer.parseInt(m.group(6));
    if (year < 1900 || year > 2200 || month < 1 || month > 12) return Long.MIN_VALUE;
    if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return Long.MIN_VALUE;
    String frac = m.group(7);
    long micros = frac == null ? 0 : Long.parseLong((frac + "00000").substring(0, 6));
    long offsetMinutes = 0;
    String zone = m.group(8);
    if (zone != null && !zone.equals("Z") && !zone.equals("z")) {
      int sign = zone.startsWith("-") ? -1 : 1;
      String digits = zone.substring(1).replace(":", "");
      int oh = Integer.parseInt(digits.substring(0, 2));
      int om = digits.length() > 2 ? Integer.parseInt(digits.substring(2, 4)) : 0;
      if (oh > 23 || om > 59) return Long.MIN_VALUE;
      offsetMinutes = sign * (oh * 60L + om);
    }
    long seconds = daysFromCivil(year, month, day) * 86_400 + hour * 3_600L + minute * 60L + second - offsetMinutes * 60;
    return seconds * MICROS_PER_SECOND + micros;
  }

  private static void pad(StringBuilder sb, long n, int width) {
    String s = Long.toString(n);
    for (int i = s.length(); i < width; i++) sb.append('0');
    sb.append(s);
  }

  /** {@code YYYY-MM-DD HH:MM:SS.ffffff}, UTC: what ClickHouse prints for DateTime64(6, 'UTC'). */
  static String formatTimestamp(long micros) {
    long seconds = Math.floorDiv(micros, MICROS_PER_SECOND);
    long frac = micros - seconds * MICROS_PER_SECOND;
    long days = Math.floorDiv(seconds, 86_400);
    long sod = seconds - days * 86_400;
    java.time.LocalDate date = java.time.LocalDate.ofEpochDay(days);
    StringBuilder sb = new StringBuilder(26);
    pad(sb, date.getYear(), 4);
    sb.append('-');
    pad(sb, date.getMonthValue(), 2);
    sb.append('-');
    pad(sb, date.getDayOfMonth(), 2);
    sb.append(' ');
    pad(sb, sod / 3_600, 2);
    sb.append(':');
    pad(sb, (sod % 3_600) / 60, 2);
    sb.append(':');
    pad(sb, sod % 60, 2);
    sb.append('.');
    pad(sb, frac, 6);
    return sb.toString();
  }

  static long floorSeconds(long micros) {
    return Math.floorDiv(micros, MICROS_PER_SECOND);
  }

  // ---- url.ts ----

  /** Length of a leading `scheme://authority`, or -1 (url.ts SCHEME_AUTHORITY_RE). */
  private static int schemeAuthorityEnd(String url) {
    int n = url.length();
    if (n == 0 || !isAsciiLetter(url.charAt(0))) return -1;
    int i = 1;
    while (i < n) {
      char c = url.charAt(i);
      if (isAsciiLetter(c) || (c >= '0' && c <= '9') || c == '+' || c == '.' || c == '-') i++;
      else break;
    }
    if (!url.startsWith("://", i)) return -1;
    i += 3;
    while (i < n) {
      char c = url.charAt(i);
      if (c == '/' || c == '?' || c == '#') break;
      i++;
    }
    return i;
  }

  private static boolean isAsciiLetter(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }

  /** url.ts pathnameOf: the path of a URL as written; `/` when it has none; null for non-URLs. */
  static String pathnameOf(String url) {
    if (url == null) return null;
    String rest;
    int end = schemeAuthorityEnd(url);
    if (end >= 0) rest = url.substring(end);
    else if (url.startsWith("/")) rest = url;
    else return null;
    int stop = rest.length();
    int q = rest.indexOf('?');
    if (q != -1) stop = q;
    int h = rest.indexOf('#');
    if (h != -1 && h < stop) stop = h;
    String path = rest.substring(0, stop);
    return path.isEmpty() ? "/" : path;
  }

  /** The host of a `scheme://` URL (userinfo and port removed), or null: the entry/exit hostname. */
  static String hostnameOf(String url) {
    if (url == null) return null;
    int end = schemeAuthorityEnd(url);
    if (end < 0) return null;
    int start = url.indexOf("://") + 3;
    String host = url.substring(start, end);
    int at = host.lastIndexOf('@');
    if (at >= 0) host = host.substring(at + 1);
    int colon = host.indexOf(':');
    if (colon >= 0) host = host.substring(0, colon);
    return host.isEmpty() ? null : host;
  }

  // ---- channel/domain.ts ----

  /** Lowercases ASCII A–Z only, like ClickHouse's lower. */
  static String asciiLower(String value) {
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c >= 'A' && c <= 'Z') return lowerAscii(value);
    }
    return value;
  }

  private static String lowerAscii(String value) {
    char[] cs = value.toCharArray();
    for (int i = 0; i < cs.length; i++) if (cs[i] >= 'A' && cs[i] <= 'Z') cs[i] = (char) (cs[i] + 32);
    return new String(cs);
  }

  private static final Pattern SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*://");

  private static boolean isJunk(String host) {
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      if (c < 0x20 || c == 0x7f || c == '[' || c == ']' || c == '\\' || isJsWhitespace(c)) return true;
    }
    return false;
  }

  private static boolean isJsWhitespace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r' || c == 0xa0 || c == 0x1680
        || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000
        || c == 0xfeff;
  }

  private static String hostOf(String value) {
    String rest = value;
    Matcher scheme = SCHEME.matcher(rest);
    if (scheme.find()) rest = rest.substring(scheme.end());
    else if (rest.startsWith("//")) rest = rest.substring(2);
    for (int i = 0; i < rest.length(); i++) {
      char c = rest.charAt(i);
      if (c == '/' || c == '?' || c == '#') {
        rest = rest.substring(0, i);
        break;
      }
    }
    int at = rest.lastIndexOf('@');
    if (at >= 0) rest = rest.substring(at + 1);
    int colon = rest.indexOf(':');
    if (colon >= 0) rest = rest.substring(0, colon);
    if (rest.length() >= 4 && asciiLower(rest.substring(0, 4)).equals("www.")) rest = rest.substring(4);
    if (rest.endsWith(".")) rest = rest.substring(0, rest.length() - 1);
    if (rest.isEmpty() || isJunk(rest)) return "";
    return rest;
  }

  /** domain.ts registrableDomain, with the core's suffix list (the bench passes it in a file). */
  static String registrableDomain(String value, Set<String> suffixes) {
    String host = hostOf(value);
    if (host.isEmpty()) return "";
    String[] labels = host.split("\\.", -1);
    for (String l : labels) if (l.isEmpty()) return "";
    if (labels.length <= 2) return host;
    String lastTwo = labels[labels.length - 2] + "." + labels[labels.length - 1];
    int keep = suffixes.contains(asciiLower(lastTwo)) ? 3 : 2;
    StringBuilder sb = new StringBuilder();
    for (int i = labels.length - keep; i < labels.length; i++) {
      if (sb.length() > 0) sb.append('.');
      sb.append(labels[i]);
    }
    return sb.toString();
  }

  /** PostHog's lower(nullIf(nullIf(x, ''), 'null')) (channel-type.ts normaliseLower). */
  static String normaliseLower(String value) {
    return value == null || value.isEmpty() || value.equals("null") ? null : asciiLower(value);
  }

  // ---- JavaScript's String(number), for numeric distinct_ids ----

  static String jsNumber(double d) {
    if (d == 0) return "0";
    if (Double.isNaN(d)) return "NaN";
    if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
    String sign = d < 0 ? "-" : "";
    double a = Math.abs(d);
    if (a == Math.rint(a) && a < 1e21) return sign + new BigDecimal(a).toPlainString();
    BigDecimal bd = new BigDecimal(Double.toString(a)).stripTrailingZeros();
    String digits = bd.unscaledValue().toString();
    int k = digits.length();
    int n = k - bd.scale();
    String body;
    if (k <= n && n <= 21) body = digits + "0".repeat(n - k);
    else if (0 < n && n <= 21) body = digits.substring(0, n) + "." + digits.substring(n);
    else if (-6 < n && n <= 0) body = "0." + "0".repeat(-n) + digits;
    else {
      int e = n - 1;
      String exp = "e" + (e >= 0 ? "+" : "-") + Math.abs(e);
      body = k == 1 ? digits + exp : digits.charAt(0) + "." + digits.substring(1) + exp;
    }
    return sign + body;
  }
}
