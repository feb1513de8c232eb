/**
 * No change missed on JetStream, with real processes (issue 23): the subgraphs publish over a nats-server of the
 * test's own, a gig page is cached through a gateway process evicting from JetStream, the broker is killed, one of
 * the page's top clients is renamed (topclients commits it and its relay cannot publish), and the broker is started
 * again on the same store. The relay publishes what it owes, the gateway's consumer is made again from its own
 * position (not from the stream's end), and the page shows the rename, asked at once and again.
 *
 * Every wait is on a report: the gateway's "ready" and "change event heard" log lines (debug), and the broker's own
 * "ready" line; the time from the broker's restart to the page showing the rename is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidationNatsEnv } from '../../schema/referenceGateway.js';
import { natsAvailable, startPrivateNatsServer, type PrivateNatsServer } from '../support/nats.js';
import { processSystem, type ProcessSystem, type RunningGatewayProcess } from '../support/processSystem.js';

const ASKED_AGAIN = 20;

describe.runIf(natsAvailable)('no change missed: the gateway follows JetStream across a broker restart', () => {
  let nats: PrivateNatsServer;
  let system: ProcessSystem;
  let gateway: RunningGatewayProcess;

  beforeAll(async () => {
    nats = await startPrivateNatsServer();
    system = await processSystem({ EVENT_TRANSPORT: 'nats', NATS_URL: nats.url });
    await Promise.all([system.subgraphs.topclients.start(), system.subgraphs.gigs.start(), system.subgraphs.users.start()]);
    gateway = await system.startGateway({ ...invalidationNatsEnv(nats.url), LOG_LEVEL: 'debug' });
    await gateway.line('gateway ready');
  }, 180_000);
  afterAll(async () => {
    await system?.stop();
    await nats?.stop();
  });

  it('a rename made while the broker is down shows once it is back: the consumer resumes from its position', async () => {
    system.printLogsIfFailed();
    const { sellerId, gigId, clientIds: [clientId] } = system.gigWithClients(1);
    const before = await gateway.topClientNames(gigId);
    expect(await gateway.topClientNames(gigId)).toEqual(before);

    await nats.kill();
    const renamed = `Renamed while NATS was down ${Date.now()}`;
    const edit = await gateway.run('UpdateClient', { id: clientId, input: { name: renamed } }, sellerId);
    expect(edit.body.data.updateClient.name).toBe(renamed);
    // The gap is real: the event waits in topclients' outbox, and the cached name is fresh by max-age.
    expect((await gateway.topClientNames(gigId))[0]).toBe(before[0]);

    const mark = gateway.mark;
    const restarted = performance.now();
    await nats.restart();
    await gateway.lineAfter(mark, (line) => line.msg === 'change event heard' && line.typename === 'Client' && line.keyFields?.id === clientId);
    const first = await gateway.topClientNames(gigId);
    console.log(`[no change missed] NATS restarted: the page shows the rename ${(performance.now() - restarted).toFixed(0)} ms after the broker was started again`);
    expect(first[0]).toBe(renamed);
    for (let i = 0; i < ASKED_AGAIN; i++) expect((await gateway.topClientNames(gigId))[0]).toBe(renamed);
    expect(gateway.logged('missed change events that cannot be replayed')).toEqual([]);
  }, 120_000);
});
