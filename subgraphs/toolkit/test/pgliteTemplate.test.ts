import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasCluster, prepareFromTemplate } from '../pgliteTemplate.js';
import { openDatabase } from '../storage.js';

const cleanup: string[] = [];
afterAll(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dataRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pglite-template-'));
  cleanup.push(dir);
  return dir;
}

describe('PGlite template', () => {
  it('three services starting at once make one template and each gets its own working cluster', { timeout: 180_000 }, async () => {
    const root = await dataRoot();
    const templateDir = join(root, '.pglite-template');
    const names = ['gigs', 'users', 'topclients'];
    await Promise.all(names.map((name) => prepareFromTemplate(join(root, name), templateDir)));
    expect((await readdir(root)).sort()).toEqual(['.pglite-template', ...names].sort());
    for (const name of names) expect(await hasCluster(join(root, name)), name).toBe(true);
    // Separate clusters: what one writes the others do not see.
    const gigs = await openDatabase({ kind: 'pglite', dataDir: join(root, 'gigs'), templateDir });
    await gigs.query('CREATE TABLE only_in_gigs (v text)');
    await gigs.close();
    const users = await openDatabase({ kind: 'pglite', dataDir: join(root, 'users'), templateDir });
    expect(await users.query(`SELECT to_regclass('only_in_gigs') AS t`)).toEqual([{ t: null }]);
    await users.close();
    const again = await openDatabase({ kind: 'pglite', dataDir: join(root, 'gigs'), templateDir });
    expect(await again.query(`SELECT to_regclass('only_in_gigs')::text AS t`)).toEqual([{ t: 'only_in_gigs' }]);
    await again.close();
  });

  it('takes over a lock left by a process that died while making the template', { timeout: 180_000 }, async () => {
    const root = await dataRoot();
    const templateDir = join(root, '.pglite-template');
    await mkdir(`${templateDir}.lock`);
    const longAgo = new Date(Date.now() - 10 * 60_000);
    await utimes(`${templateDir}.lock`, longAgo, longAgo);
    await prepareFromTemplate(join(root, 'gigs'), templateDir);
    expect(await hasCluster(join(root, 'gigs'))).toBe(true);
    expect(await readdir(root)).not.toContain('.pglite-template.lock');
  });

  it('databases in memory load an archive of the empty cluster made once, and each is its own', { timeout: 180_000 }, async () => {
    const root = await dataRoot();
    const templateDir = join(root, '.pglite-template');
    const first = await openDatabase({ kind: 'pglite', templateDir });
    expect(await readdir(root)).toEqual(['.pglite-template.tar']);
    const made = await stat(join(root, '.pglite-template.tar'));
    await first.query('CREATE TABLE only_in_first (v text)');
    await first.query(`INSERT INTO only_in_first VALUES ('kept')`);
    const second = await openDatabase({ kind: 'pglite', templateDir });
    expect(await second.query(`SELECT to_regclass('only_in_first') AS t`)).toEqual([{ t: null }]);
    expect(await first.query('SELECT v FROM only_in_first')).toEqual([{ v: 'kept' }]);
    await Promise.all([first.close(), second.close()]);
    // Loaded, not made again: the archive is the one the first open wrote.
    expect((await stat(join(root, '.pglite-template.tar'))).mtimeMs).toBe(made.mtimeMs);
    expect(await readdir(root)).toEqual(['.pglite-template.tar']);
  });

  it('refuses a service folder that holds other files, and leaves it as it was', { timeout: 180_000 }, async () => {
    const root = await dataRoot();
    await mkdir(join(root, 'gigs'));
    await writeFile(join(root, 'gigs', 'notes.txt'), 'mine');
    await expect(prepareFromTemplate(join(root, 'gigs'), join(root, '.pglite-template'))).rejects.toThrow(/holds no PGlite database/);
    expect(await readdir(join(root, 'gigs'))).toEqual(['notes.txt']);
    expect(await readdir(root)).toEqual(['gigs']);
  });
});
