package dev.sessionizer.peer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** A growable byte writer and its reader: the binary serdes of events and session states. */
final class Bin {
  private Bin() {}

  static final class Writer {
    private byte[] buf = new byte[512];
    private int pos;

    private void ensure(int n) {
      if (pos + n > buf.length) buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + n));
    }

    void u8(int v) {
      ensure(1);
      buf[pos++] = (byte) v;
    }

    void i32(int v) {
      ensure(4);
      buf[pos++] = (byte) (v >>> 24);
      buf[pos++] = (byte) (v >>> 16);
      buf[pos++] = (byte) (v >>> 8);
      buf[pos++] = (byte) v;
    }

    void i64(long v) {
      ensure(8);
      for (int s = 56; s >= 0; s -= 8) buf[pos++] = (byte) (v >>> s);
    }

    void f64(double v) {
      i64(Double.doubleToRawLongBits(v));
    }

    /** Nullable string: length + 1 (0 for null), then UTF-8 (strings are well-formed, so this is lossless). */
    void str(String s) {
      if (s == null) {
        i32(0);
        return;
      }
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      i32(b.length + 1);
      ensure(b.length);
      System.arraycopy(b, 0, buf, pos, b.length);
      pos += b.length;
    }

    byte[] bytes() {
      return Arrays.copyOf(buf, pos);
    }
  }

  static final class Reader {
    private final byte[] buf;
    private int pos;

    Reader(byte[] buf) {
      this.buf = buf;
    }

    int u8() {
      return buf[pos++] & 0xFF;
    }

    int i32() {
      int v = ((buf[pos] & 0xFF) << 24) | ((buf[pos + 1] & 0xFF) << 16) | ((buf[pos + 2] & 0xFF) << 8) | (buf[pos + 3] & 0xFF);
      pos += 4;
      return v;
    }

    long i64() {
      long v = 0;
      for (int i = 0; i < 8; i++) v = (v << 8) | (buf[pos++] & 0xFF);
      return v;
    }

    double f64() {
      return Double.longBitsToDouble(i64());
    }

    String str() {
      int n = i32();
      if (n == 0) return null;
      String s = new String(buf, pos, n - 1, StandardCharsets.UTF_8);
      pos += n - 1;
      return s;
    }
  }
}
