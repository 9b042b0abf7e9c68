# syntax=docker/dockerfile:1
# flex-auth container image.
#
#   docker build -t flex-auth:0.1.0 .
#   docker run --rm -p 8080:8080 flex-auth:0.1.0            # serve with the embedded example registry
#
# In Kubernetes the Helm chart (charts/flex-auth) or deploy/ passes
# `serve --registry-configmap flex-auth/flex-auth-registry` as the container args.
# Pin NODE_IMAGE by digest (node:20-slim@sha256:...) for reproducible builds.
ARG NODE_IMAGE=node:20-slim

# ---- build: compile TypeScript to dist/ ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are here.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# ---- deps: production dependencies only ----------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# ---- runtime -------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# npm and corepack are not needed to run flex-auth; remove them from the final image.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
 && groupadd --system --gid 10001 flex-auth \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin flex-auth
WORKDIR /app
ENV NODE_ENV=production
# package.json carries "type": "module"; examples/ holds the embedded default registry.
COPY --chown=root:root package.json ./
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist/src ./dist/src
COPY --chown=root:root examples ./examples
# Files are root-owned and read-only to the process; it runs as 10001 (matches the chart's
# runAsUser, and runAsNonRoot can verify a numeric user).
USER 10001:10001
EXPOSE 8080
# A young generation of 16 MiB a semi-space, whatever the container's memory limit (under the
# chart's 768Mi Node would cap it at 4) and however long the service idles (V8 shrinks it, then
# promotes a burst's objects early and starts major GCs mid-burst): see "Node flags" in
# docs/deployment.md. The benchmark reads its flags from this line.
ENTRYPOINT ["node", "--max-semi-space-size=16", "--min-semi-space-size=16", "dist/src/cli/index.js"]
CMD ["serve"]
