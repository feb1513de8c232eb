/**
 * The one port in front of the `ours-2-replicas-redis` contender's two gateways: scripts/roundRobinProxy.ts (what
 * `npm run start:scaled` puts in front of its replicas, nginx's part in docker-compose.yml), in its own process so
 * it shares an event loop with neither gateway nor the load. Its CPU is not counted as the gateways'.
 *
 * Usage: tsx bench/contenders/roundRobin.ts <gateway origin> <gateway origin> ...; prints `READY <url>`.
 */
import { startRoundRobinProxy } from '../../scripts/roundRobinProxy.js';

process.env.APOLLO_TELEMETRY_DISABLED = 'true';
const proxy = await startRoundRobinProxy({ targets: process.argv.slice(2), host: '127.0.0.1', port: 0 });
console.log(`READY ${proxy.url}/graphql`);
const stop = async () => {
  await proxy.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
