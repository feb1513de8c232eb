/**
 * `npm run measure:propagation`: how long a topclients mutation takes to be visible where pages read it, on each
 * transport. Starts the reference deployment in-process (PGlite in memory) with propagation on, makes `SAMPLES`
 * list changes and client edits, and prints median / p95 / max of:
 *   - list change committed -> applied at gigs and at users (what the gig and user pages read), and
 *   - client edit committed -> the new name on a gig page the gateway had cached (the event evicts the entry).
 * NATS is measured when a JetStream server answers at NATS_URL (default nats://127.0.0.1:4222).
 */
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

const { operation } = await import('../schema/operations.js');
const { generateDemoData, sizeForScale } = await import('../subgraphs/toolkit/demoData.js');
const { natsAvailable } = await import('../test/support/nats.js');
const { pollUntil, startPropagatingSystem } = await import('../test/support/propagatingSystem.js');
const { postGraphQL } = await import('../test/support/system.js');

const SAMPLES = Number(process.env.SAMPLES || 30);

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `median ${at(0.5).toFixed(1)} ms, p95 ${at(0.95).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms (n=${sorted.length})`;
}

for (const transport of natsAvailable ? (['feed', 'nats'] as const) : (['feed'] as const)) {
  const demo = generateDemoData(sizeForScale(0.01));
  const system = await startPropagatingSystem(transport, demo);
  try {
    const sellers = demo.sellers.filter((s) => s.topClientIds.length >= 1 && s.topClientIds.length < 9 && demo.gigs.some((g) => g.sellerId === s.id));
    const atGigs: number[] = [];
    const atUsers: number[] = [];
    const onPage: number[] = [];
    const idsAt = async (name: 'gigs' | 'users', sellerId: string, username: string) => {
      const query = name === 'gigs'
        ? 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Seller { topClients { id } } } }'
        : 'query($u: String!) { seller(username: $u) { topClients { id } } }';
      const answer = await postGraphQL(system.subgraphs[name].url, query, { r: [{ __typename: 'Seller', id: sellerId }], u: username });
      const seller = name === 'gigs' ? answer.body.data._entities[0] : answer.body.data.seller;
      return ((seller?.topClients ?? []) as { id: string }[]).map((c) => c.id).join(',');
    };
    for (let i = 0; i < SAMPLES; i += 1) {
      const seller = sellers[i % sellers.length]!;
      const mine = (await postGraphQL(system.gateway.url, operation('MyTopClients').body, {}, { 'x-seller-id': seller.id })).body.data.myTopClients.map((c: { id: string }) => c.id) as string[];
      const extra = demo.clients.find((c) => !mine.includes(c.id))!.id;
      const mutation = await postGraphQL(system.gateway.url, operation('AddTopClient').body, { clientId: extra }, { 'x-seller-id': seller.id });
      const committed = performance.now();
      const wanted = (mutation.body.data.addTopClient as { id: string }[]).map((c) => c.id).join(',');
      await Promise.all([
        pollUntil('gigs', () => idsAt('gigs', seller.id, seller.username), (ids) => ids === wanted, 30_000, 1).then(() => atGigs.push(performance.now() - committed)),
        pollUntil('users', () => idsAt('users', seller.id, seller.username), (ids) => ids === wanted, 30_000, 1).then(() => atUsers.push(performance.now() - committed)),
      ]);

      const gig = demo.gigs.find((g) => g.sellerId === seller.id)!;
      const page = async () => {
        const answer = await postGraphQL(system.gateway.url, operation('GigPage').body, { id: gig.id });
        if (answer.body.errors) throw new Error(`gig page answered errors: ${JSON.stringify(answer.body.errors).slice(0, 500)}`);
        return answer.body.data.gig.seller.topClients as { id: string; name: string }[];
      };
      const clientId = (await page())[0]!.id;
      await page();
      const name = `Measured ${transport} ${i}`;
      await postGraphQL(system.gateway.url, operation('UpdateClient').body, { id: clientId, input: { name } }, { 'x-seller-id': seller.id });
      const edited = performance.now();
      await pollUntil('gig page', async () => (await page()).find((c) => c.id === clientId)?.name, (n) => n === name, 30_000, 1);
      onPage.push(performance.now() - edited);
    }
    console.log(`${transport}: list change -> applied at gigs:  ${summary(atGigs)}`);
    console.log(`${transport}: list change -> applied at users: ${summary(atUsers)}`);
    console.log(`${transport}: client edit -> new name on a cached gig page via the gateway: ${summary(onPage)}`);
  } finally {
    await system.stop();
  }
}
process.exit(0);
