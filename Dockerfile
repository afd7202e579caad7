# The sessionizer image: the service and CLI (entrypoint), and the load generator.
#   docker build -t sessionizer .
#   docker run --rm -e KAFKA_BROKERS=… -e CLICKHOUSE_URL=… sessionizer run
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
# tsx compiles on load and caches under the user's tmp; warm it once at build time.
RUN mkdir -p /data && chown node:node /data \
 && node services/sessionizer/bin/sessionizer.mjs --help > /dev/null

USER node
VOLUME ["/data"]
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "services/sessionizer/bin/sessionizer.mjs"]
CMD ["run"]
