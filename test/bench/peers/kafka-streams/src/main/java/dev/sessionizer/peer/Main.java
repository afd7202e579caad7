package dev.sessionizer.peer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The Kafka Streams peer: the sessionizer's job in the JVM's standard streaming tool.
 *
 * <pre>
 * topic ─► flatMap(normalise: parse message, parse properties, checks; rejects counted by reason)
 *       ─► groupByKey (repartition by "team_id:session_id")
 *       ─► aggregate() into a RocksDB store (commit every 5 s)
 *       ─► toStream ─► JSON row ─► output topic
 * </pre>
 *
 * Stdout, for the bench: {@code FIRST} when the first record is read, {@code PROGRESS <read>}
 * every 200 ms, and {@code PEER <json>} (counts by reason) after a clean close on SIGTERM.
 */
public final class Main {
  private Main() {}

  private static volatile int exitStatus = 0;

  private static Map<String, String> args(String[] argv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new IllegalArgumentException("usage: --name value …, got " + argv[i]);
      m.put(argv[i].substring(2), argv[++i]);
    }
    return m;
  }

  private static String need(Map<String, String> a, String name) {
    String v = a.get(name);
    if (v == null || v.isEmpty()) throw new IllegalArgumentException("--" + name + " is required");
    return v;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = args(argv);
    String brokers = need(a, "brokers");
    String input = need(a, "topic");
    String output = need(a, "output-topic");
    String appId = need(a, "application-id");
    String stateDir = need(a, "state-dir");
    long toleranceMs = Long.parseLong(a.getOrDefault("session-id-tolerance-ms", "0"));
    Set<String> suffixes = new HashSet<>();
    if (a.containsKey("suffixes")) {
      for (String line : Files.readAllLines(Path.of(a.get("suffixes")))) if (!line.isBlank()) suffixes.add(line.trim());
    }

    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, a.getOrDefault("commit-interval-ms", "5000"));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, a.getOrDefault("threads", "1"));
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    // What Kafka Streams 5.0 will default to (4.4 warns at start-up without it); no record here reaches the handler.
    p.put("processing.exception.handler.global.enabled", "true");

    AtomicLong read = new AtomicLong();
    ConcurrentHashMap<String, LongAdder> rejects = new ConcurrentHashMap<>();
    LongAdder accepted = new LongAdder();
    ThreadLocal<Normalizer> normalizers = ThreadLocal.withInitial(() -> new Normalizer(toleranceMs));
    Serde<Event> eventSerde = Serdes.serdeFrom((t, e) -> e.serialize(), (t, b) -> Event.deserialize(b));
    Serde<SessionState> stateSerde = Serdes.serdeFrom((t, s) -> s.serialize(), (t, b) -> SessionState.deserialize(b));

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
        .<String, Event>flatMap((key, value) -> {
          if (read.incrementAndGet() == 1) {
            System.out.println("FIRST");
            System.out.flush();
          }
          Object r = normalizers.get().normalize(value);
          if (r instanceof Event) {
            accepted.increment();
            Event e = (Event) r;
            return List.of(KeyValue.pair(e.sessionKey(), e));
          }
          rejects.computeIfAbsent((String) r, k -> new LongAdder()).increment();
          return List.of();
        })
        .groupByKey(Grouped.with("sessions", Serdes.String(), eventSerde))
        .aggregate(
            SessionState::new,
            (key, event, state) -> {
              state.add(event, suffixes);
              return state;
            },
            Materialized.<String, SessionState, KeyValueStore<Bytes, byte[]>>as("session-state")
                .withKeySerde(Serdes.String())
                .withValueSerde(stateSerde))
        .toStream()
        .mapValues(state -> state.toJson(System.currentTimeMillis()))
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));

    Topology topology = builder.build();
    KafkaStreams streams = new KafkaStreams(topology, p);
    CountDownLatch failed = new CountDownLatch(1);
    streams.setUncaughtExceptionHandler(err -> {
      System.err.println("peer: stream thread failed: " + err);
      failed.countDown();
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(60));
      Map<String, Long> byReason = new TreeMap<>();
      rejects.forEach((k, v) -> byReason.put(k, v.sum()));
      StringBuilder json = new StringBuilder("{\"read\":").append(read.get()).append(",\"accepted\":").append(accepted.sum());
      json.append(",\"rejected\":{");
      String sep = "";
      for (Map.Entry<String, Long> e : byReason.entrySet()) {
        json.append(sep).append('"').append(e.getKey()).append("\":").append(e.getValue());
        sep = ",";
      }
      json.append("}}");
      System.out.println("PEER " + json);
      System.out.flush();
      // A clean close on SIGTERM exits 0 (the JVM's default would be 143); a failed one 1.
      Runtime.getRuntime().halt(exitStatus);
    }, "peer-shutdown"));

    Thread progress = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(200);
          System.out.println("PROGRESS " + read.get());
          System.out.flush();
        }
      } catch (InterruptedException done) {
        Thread.currentThread().interrupt();
      }
    }, "peer-progress");
    progress.setDaemon(true);

    streams.start();
    progress.start();
    failed.await();
    exitStatus = 1;
    System.exit(1);
  }
}
