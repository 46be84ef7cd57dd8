# The `macao-ocr` command in an image: `docker build -t macao-ocr .`, then
# `docker run --rm macao-ocr --help`. docker-compose.yml runs every part of the pipeline from it.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY data ./data
COPY src ./src
# `npm ci` builds through `prepare` (tsc); the dev dependencies go once dist/ exists.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
# A CJK font for the specimen cards of `macao-ocr samples` (Chinese names), DejaVu for the rest.
RUN apt-get update \
  && apt-get install -y --no-install-recommends fonts-wqy-microhei fonts-dejavu-core \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/data ./data
# Embedded PGlite (no DATABASE_URL) keeps its data in ./.macao-ocr: writable by the user we run as.
RUN mkdir -p /app/.macao-ocr && chown node:node /app/.macao-ocr
USER node
ENTRYPOINT ["node", "bin/macao-ocr.js"]
CMD ["--help"]
