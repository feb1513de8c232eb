/**
 * No change missed on the change feed, with real processes (issue 23): a gig page is cached, one of its top clients
 * is renamed while the gateway cannot hear topclients' feed, and the page is asked at once and again once it can.
 * A TCP gate between the gateway and topclients' feed decides when it hears it (everything else, gigs' and users'
 * feeds and the subgraphs themselves, is reached directly).
 *
 * - The gateway starts before topclients: its listener has no position yet, so once it reaches the feed it cuts,
 *   and the page cached before (with the old name) is asked for again.
 * - topclients is killed and started again while the gate is shut: the listener keeps its position and replays
 *   what it missed once it is open, so the rename made in between is heard.
 *
 * Every wait is on the gateway's own report (a log line, /ready); the time from the gate opening to the page
 * showing the rename is printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processSystem, type ProcessSystem, type RunningGatewayProcess } from '../support/processSystem.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

/** A page asked this many times after the gap shows the new name every time. */
const ASKED_AGAIN = 20;

describe('no change missed: the gateway follows topclients\' change feed from its first cached answer on', () => {
  let system: ProcessSystem;
  let gate: TcpProxy;
  let gateway: RunningGatewayProcess;
  let gatedFeed: string;

  beforeAll(async () => {
    system = await processSystem();
    gate = await startTcpProxy('127.0.0.1', Number(new URL(system.subgraphs.topclients.baseUrl).port));
    gate.cut();
    gatedFeed = `http://127.0.0.1:${gate.port}/events`;
  });
  afterAll(async () => {
    await system?.stop();
    await gate?.stop();
  });

  /** After the gap: the first page shows `name` at once, and every page after it too. */
  async function showsAtOnceAndAgain(gigId: string, index: number, name: string, gapEndedAt: number, what: string) {
    const first = await gateway.topClientNames(gigId);
    console.log(`[no change missed] ${what}: the page shows the rename ${(performance.now() - gapEndedAt).toFixed(0)} ms after the gap ended`);
    expect(first[index]).toBe(name);
    for (let i = 0; i < ASKED_AGAIN; i++) expect((await gateway.topClientNames(gigId))[index]).toBe(name);
  }

  it('started before topclients, the gateway is not ready until it follows every feed; a rename made before that shows once it does', async () => {
    system.printLogsIfFailed();
    gateway = await system.startGateway({
      INVALIDATION_FEED_URL: [gatedFeed, system.feedUrl('gigs'), system.feedUrl('users')].join(','),
    });
    const starting = await gateway.ready();
    expect(starting.status).toBe(503);
    expect(starting.body.changes[`feed ${gatedFeed}`]).toMatchObject({ state: 'waiting', position: null });

    await Promise.all([system.subgraphs.topclients.start(), system.subgraphs.gigs.start(), system.subgraphs.users.start()]);
    const { sellerId, gigId, clientIds: topClientIds } = system.gigWithClients(2);
    // Cached while the gateway cannot hear topclients (Client max-age 60 s): asked twice, the second from memory.
    const before = await gateway.topClientNames(gigId);
    expect(await gateway.topClientNames(gigId)).toEqual(before);

    const renamed = `Renamed in the start-up gap ${Date.now()}`;
    const edit = await gateway.run('UpdateClient', { id: topClientIds[0], input: { name: renamed } }, sellerId);
    expect(edit.body.data.updateClient.name).toBe(renamed);
    // The gap is real: nothing told the gateway, and the cached name is still fresh by max-age.
    expect((await gateway.topClientNames(gigId))[0]).toBe(before[0]);
    expect((await gateway.ready()).status).toBe(503);

    const opened = performance.now();
    gate.restore();
    await gateway.line('gateway ready');
    expect((await gateway.ready()).body.changes[`feed ${gatedFeed}`]).toMatchObject({ state: 'following', cuts: 1 });
    await showsAtOnceAndAgain(gigId, 0, renamed, opened, 'first position after start');
  }, 180_000);

  it('topclients killed and restarted while the gateway cannot hear it: its listener resumes from its position, and a rename made in the gap shows', async () => {
    system.printLogsIfFailed();
    const { sellerId, gigId, clientIds: topClientIds } = system.gigWithClients(2);
    const before = await gateway.topClientNames(gigId);

    gate.cut();
    await system.subgraphs.topclients.kill();
    await system.subgraphs.topclients.start();
    const renamed = `Renamed while the feed was away ${Date.now()}`;
    const edit = await gateway.run('UpdateClient', { id: topClientIds[1], input: { name: renamed } }, sellerId);
    expect(edit.body.data.updateClient.name).toBe(renamed);
    expect((await gateway.topClientNames(gigId))[1]).toBe(before[1]);

    const mark = gateway.mark;
    const opened = performance.now();
    gate.restore();
    // Back on the feed from its own position: by the time it says it follows again, it has heard the rename.
    const again = await gateway.lineAfter(mark, (line) => line.msg === 'following change events again' && line.source === `feed ${gatedFeed}`);
    expect(gateway.logged('missed change events that cannot be replayed')).toEqual([]);
    await showsAtOnceAndAgain(gigId, 1, renamed, opened, `replayed from ${again.position}`);
  }, 180_000);
});
