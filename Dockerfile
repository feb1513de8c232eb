# One image for every service of the reference deployment; the command picks which one runs.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=true
COPY package.json package-lock.json ./
RUN npm ci --omit=dev
COPY tsconfig.json ./
COPY schema ./schema
COPY gateway ./gateway
COPY subgraphs ./subgraphs
USER node
EXPOSE 4000
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
