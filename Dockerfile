# The sessionizer image: the service and CLI (entrypoint), and the load generator.
#   docker build -t sessionizer .
#   docker run --rm -e KAFKA_BROKERS=… -e CLICKHOUSE_URL=… sessionizer run
# The entrypoint is node itself, so SIGTERM reaches the service (never wrap it in npx or npm:
# npm's exec does not forward SIGTERM). Kubernetes: deploy/k8s.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production \
    SESSIONIZER_DATA_DIR=/data \
    METRICS_PORT=9464

# Manifests first, so that the dependency layer is cached across source changes.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/kafka/package.json packages/kafka/
COPY packages/clickhouse/package.json packages/clickhouse/
COPY packages/generator/package.json packages/generator/
COPY services/sessionizer/package.json services/sessionizer/
COPY services/loadgen/package.json services/loadgen/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY packages/ packages/
COPY services/ services/
RUN mkdir -p /data && chown node:node /data

USER node
# tsx compiles on load and caches in $TMPDIR/tsx-<uid>: warm the cache as the user that runs the
# service (warmed as root, it went to /tmp/tsx-0 and every start compiled again). A read-only
# root filesystem with an emptyDir on /tmp (deploy/k8s) hides it: the first start then compiles,
# ~2 s more.
RUN node services/sessionizer/bin/sessionizer.mjs --help > /dev/null
# A young generation of 2 x 64 MiB instead of V8's 2 x 16 MiB: the session states live until the
# next flush (~5 s), so with the default most of them are promoted and the old generation is
# marked every second or so; with 64 MiB `sessionizer run` spent ~21 % less CPU per event, for
# 90-470 MiB more peak RSS (BENCHMARKS.md, "The service's main thread beyond decode and
# aggregate"): V8 then lets the old generation grow to ~3x its live size between mark-compacts,
# which shows after ~10 s of full-speed consuming ("Why the 64 MiB semi-space costs RSS at 1M
# events"); bounding that growth gave the CPU back in the run measured. The service now collects
# that slack itself right after each flush (FLUSH_GC_OLD_SPACE_MIB, BENCHMARKS.md "A full GC
# after the flush").
# --max-old-space-size=2048: without it node sizes the old generation from the container's memory
# limit (half of it: 768 MiB in the Deployment's 1.5 GiB), and below 2 GiB V8 also lowers its
# heap-growing factor (1.5 at 768 instead of 4): inside a 1.5 GiB cgroup the service then did
# 38-50 mark-compacts per 500 000 events instead of 3-4 and spent +35-50 % CPU (BENCHMARKS.md,
# same section). Set here, the heap is the same in every container and in the benches. It is a
# ceiling, not a reservation: the RSS stays bounded by the flush GC and FLUSH_MAX_BYTES.
# A V8 heap setting cannot be changed once node runs, so these are node flags here;
# `npm run bench*` read them from this line. Override with `-e NODE_OPTIONS=`.
ENV NODE_OPTIONS="--max-semi-space-size=64 --max-old-space-size=2048"
VOLUME ["/data"]
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "services/sessionizer/bin/sessionizer.mjs"]
CMD ["run"]
