# One image for every service of the reference deployment; the command picks which one runs.
# The build stage builds the pages (Vite, a development dependency); the image itself installs only what runs.
FROM node:22-bookworm-slim AS pages
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY schema ./schema
COPY web ./web
RUN npx vite build -c web/vite.config.ts

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=true
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY tsconfig.json ./
COPY schema ./schema
COPY gateway ./gateway
COPY subgraphs ./subgraphs
COPY scripts ./scripts
COPY web ./web
# Built after the sources were copied in the stage above, so web/main.ts finds them up to date and builds nothing.
COPY --from=pages /app/web/dist ./web/dist
USER node
EXPOSE 4000 4001 4002 4003 4080
CMD ["node", "--max-semi-space-size=64", "--import", "tsx", "gateway/src/main.ts"]
