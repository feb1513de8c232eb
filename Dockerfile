# One image for every service of the reference deployment; the command picks which one runs.
# The build stage builds the pages (Vite) and the release (esbuild: a .js beside each .ts the processes run), both
# development dependencies; the image itself installs only what runs, and runs `node` on the built files: no
# compiler at run time (tsx is a development dependency).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY schema ./schema
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY scripts ./scripts
COPY web ./web
RUN npx vite build -c web/vite.config.ts && npx tsx scripts/buildRelease.ts

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=true
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
# Sources, built .js files and the pages, from the build stage: web/main.js finds the pages whole and builds nothing.
COPY --from=build /app/schema ./schema
COPY --from=build /app/gateway ./gateway
COPY --from=build /app/subgraphs ./subgraphs
COPY --from=build /app/scripts ./scripts
COPY --from=build /app/web ./web
USER node
EXPOSE 4000 4001 4002 4003 4080
CMD ["node", "--max-semi-space-size=64", "gateway/src/main.js"]
