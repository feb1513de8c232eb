/**
 * Prints a development token for a seller: `npm run token -- s1` (or `npx tsx scripts/token.ts s1`).
 * Send it as `Authorization: Bearer <token>` to the gateway `npm start` runs; it is signed by the development
 * identity provider (scripts/devIdentity.ts) whose public key the gateway trusts in development.
 */
import { devIdentity } from './devIdentity.js';

const sellerId = process.argv[2];
if (!sellerId || !/^[\x21-\x7e]{1,256}$/.test(sellerId)) {
  console.error('usage: npm run token -- <seller id>   (for example: npm run token -- s1)');
  process.exit(2);
}
console.log(await (await devIdentity()).issue(sellerId));
