/**
 * The web server as a process (`npm run web`, started by `npm start` after the gateway). Settings: WEB_PORT
 * (4080), WEB_HOST (127.0.0.1), GATEWAY_URL (http://127.0.0.1:4000/graphql). Builds the pages first if needed.
 */
import { ensurePagesBuilt } from './build.js';
import { devIdentity } from '../scripts/devIdentity.js';
import { startWebServer } from './server.js';

const problems: string[] = [];
const rawPort = process.env.WEB_PORT || '4080';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65_535) problems.push(`WEB_PORT must be a whole number from 0 to 65535, got "${rawPort}"`);
const gatewayUrl = process.env.GATEWAY_URL || `http://127.0.0.1:${process.env.PORT || 4000}/graphql`;
if (!/^http:\/\/[^/]+/.test(gatewayUrl)) problems.push(`GATEWAY_URL must be an http:// URL of the gateway's /graphql, got "${gatewayUrl}"`);
if (problems.length > 0) {
  console.error(`invalid web server configuration:\n${problems.map((p) => `- ${p}`).join('\n')}`);
  process.exit(1);
}

if (await ensurePagesBuilt()) console.log('built the pages into web/dist');
// WEB_DEV_TOKENS=true (npm start in development): the sign-in gets tokens from the development identity provider.
const devTokens = process.env.WEB_DEV_TOKENS === 'true' ? await devIdentity() : undefined;
const web = await startWebServer({
  gatewayUrl,
  port,
  host: process.env.WEB_HOST || '127.0.0.1',
  devTokens: devTokens && ((sellerId) => devTokens.issue(sellerId)),
});
console.log(JSON.stringify({ level: 'info', message: 'web pages listening', url: web.url, gatewayUrl }));
const stop = () => void web.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
