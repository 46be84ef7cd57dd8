# The `macao-ocr` command in an image, on Node 24 LTS.
#
#   docker build -t macao-ocr .                            # runtime (default): the production pipeline
#   docker run --rm macao-ocr --help
#   docker build --target sandbox -t macao-ocr-sandbox .   # adds the API emulator and specimen cards
#
# The runtime image holds production dependencies and the compiled pipeline only. The sandbox
# image is the full install, development dependencies included, for `macao-ocr emulator` and
# `macao-ocr samples` (a test double of the OCR API and the specimen cards it recognizes).
# docker-compose.yml builds both.

ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Every dependency, and dist/ compiled from src/ (`npm ci` builds through `prepare`, with tsc).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY data ./data
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm ci --no-audit --no-fund

# The try-out image: the build as is, development dependencies (the specimen cards' CJK font among
# them) included.
FROM build AS sandbox
# Embedded PGlite (no DATABASE_URL) keeps its data in ./.macao-ocr: writable by the user we run as.
RUN mkdir -p /app/.macao-ocr && chown node:node /app/.macao-ocr
USER node
ENTRYPOINT ["node", "bin/macao-ocr.js"]
CMD ["--help"]

# Production dependencies only, and none of the sandbox's compiled code (its packages are
# development dependencies, gone after the prune).
FROM build AS prune
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf dist/sandbox

# The production image: the last stage, so the default target.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prune /app/package.json ./package.json
COPY --from=prune /app/node_modules ./node_modules
COPY --from=prune /app/dist ./dist
COPY --from=prune /app/bin ./bin
COPY --from=prune /app/data ./data
# Embedded PGlite (no DATABASE_URL) keeps its data in ./.macao-ocr: writable by the user we run as.
RUN mkdir -p /app/.macao-ocr && chown node:node /app/.macao-ocr
USER node
ENTRYPOINT ["node", "bin/macao-ocr.js"]
CMD ["--help"]
