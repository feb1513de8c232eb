/**
 * A new PGlite data folder starts as a copy of a pristine cluster instead of running initdb, which costs several
 * seconds of WebAssembly per service (measured: 3 to 6 s each on a 2-core machine, three services at once on a
 * first start) where a copy and an open take well under one. The first service that needs the template makes it
 * under a lock folder while the others wait; a lock left by a process that died is taken over once it is stale.
 *
 * The template lives beside the installed PGlite (`node_modules/.cache/pglite-template/<version>`), not in
 * DATA_DIR: it holds no data, only what initdb makes for that PostgreSQL build, so deleting the data keeps it.
 * Where that folder cannot be written, a new data folder is initialised in place, as PGlite does by itself.
 *
 * Every step that creates a cluster writes into a temporary sibling and renames it into place, so a crash never
 * leaves a half-made folder that looks whole (`PG_VERSION` is what marks a cluster).
 *
 * A database in memory (the tests') cannot start from a folder: it loads the same empty cluster as an archive kept
 * beside the template (`templateArchive`).
 */
import { readFileSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

/** How long a start waits for another process to finish the template before giving up with a message. */
const TEMPLATE_WAIT_MS = 180_000;
/** A lock older than this is left over from a process that died while making the template (initdb takes seconds). */
const LOCK_STALE_MS = 120_000;
const LOCK_POLL_MS = 50;

/** `node_modules/.cache/pglite-template/<PGlite version>`, next to the PGlite this process loads. */
export function defaultTemplateDir(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const packageDir = entry.slice(0, entry.lastIndexOf(`${sep}dist${sep}`));
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  return join(dirname(dirname(packageDir)), '.cache', 'pglite-template', version);
}

export async function hasCluster(dir: string): Promise<boolean> {
  return exists(join(dir, 'PG_VERSION'));
}

/** Makes `dataDir` a copy of the template (made first when missing), unless it already holds a cluster. */
export async function prepareFromTemplate(dataDir: string, templateDir: string): Promise<void> {
  if (await hasCluster(dataDir)) return;
  // An empty folder (made by hand, or by an older start) gives way; one with other files in it is not ours to drop.
  const existing = await readdir(dataDir).catch(() => null);
  if (existing && existing.length > 0) {
    throw new Error(`${dataDir} exists but holds no PGlite database (no PG_VERSION); move it away or delete it`);
  }
  try {
    await ensureTemplate(templateDir);
  } catch (error) {
    if (!UNWRITABLE.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    await mkdir(dataDir, { recursive: true }); // PGlite runs initdb in it
    return;
  }
  const partial = `${dataDir}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await cp(templateDir, partial, { recursive: true });
  if (existing) await rmdir(dataDir);
  await rename(partial, dataDir);
}

/**
 * An empty cluster as a PGlite archive (`<templateDir>.tar`), for a database in memory: loading it took 0.5 s here
 * where initdb took 2 to 3 s, and the tests open one per service, several times a file. The first open that needs it
 * runs initdb once and keeps the result; each maker writes a temporary file renamed into place, so makers racing
 * each leave a whole archive. Where that folder cannot be written, the archive just made is used and not kept.
 */
export async function templateArchive(templateDir: string): Promise<Blob> {
  const archive = `${templateDir}.tar`;
  try {
    return new Blob([await readFile(archive)]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const db = await PGlite.create();
  const dump = await db.dumpDataDir('none');
  await db.close();
  const partial = `${archive}.partial-${process.pid}`;
  try {
    await mkdir(dirname(archive), { recursive: true });
    await writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
    await rename(partial, archive);
  } catch (error) {
    if (!UNWRITABLE.includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  return dump;
}

const UNWRITABLE = ['EACCES', 'EPERM', 'EROFS'];

export async function ensureTemplate(templateDir: string): Promise<void> {
  const lock = `${templateDir}.lock`;
  const deadline = Date.now() + TEMPLATE_WAIT_MS;
  await mkdir(dirname(templateDir), { recursive: true });
  for (;;) {
    if (await hasCluster(templateDir)) return;
    try {
      await mkdir(lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Another start is making it: wait, unless its maker died long ago.
      const since = await ageMs(lock);
      if (since !== null && since > LOCK_STALE_MS) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) {
        throw new Error(`waited ${TEMPLATE_WAIT_MS / 1000}s for another process to create ${templateDir}; if none is running, delete ${lock}`);
      } else await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
      continue;
    }
    try {
      if (await hasCluster(templateDir)) return;
      const building = `${templateDir}.building-${process.pid}`;
      await rm(building, { recursive: true, force: true });
      const db = await PGlite.create(building);
      await db.close();
      await rename(building, templateDir);
      return;
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return (await ageMs(path)) !== null;
}

async function ageMs(path: string): Promise<number | null> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}
