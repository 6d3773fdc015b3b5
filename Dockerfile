# syntax=docker/dockerfile:1
# VecStore image: multi-stage build on Debian 12 (glibc), which the prebuilt uWebSockets.js
# and simsimd binaries need (they do not load on Alpine/musl).
#   docker build -t vecstore .
#   docker run -p 8080:8080 -v vecstore-data:/data -e VECSTORE_DIMENSION=384 vecstore

# ---- build: full dependency tree, TypeScript compile, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# A dev dependency (hnswlib-node, used by benchmarks) compiles a native addon on install.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build \
 && npm prune --omit=dev

# ---- runtime: compiled JavaScript + production node_modules, non-root ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's "node" user (uid 1000) owns the data directory; nothing else is writable.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
# No curl in the slim image: Node 20's built-in fetch does the probe.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/src/cli.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--data-dir", "/data"]
