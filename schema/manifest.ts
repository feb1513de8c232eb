/**
 * The persisted query manifest of the pages' operations (schema/operations/*.graphql), in Apollo's format, and,
 * when run as a script (`npm run manifest`), writes schema/persisted-query-manifest.json. The gateway serves these
 * operations by id; a test fails when the committed file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildManifest, manifestText } from '../gateway/src/persisted/manifest.js';
import { loadOperations } from './operations.js';

export const MANIFEST_FILE = fileURLToPath(new URL('./persisted-query-manifest.json', import.meta.url));

export function persistedQueryManifestText(operationsDir?: string): string {
  return manifestText(buildManifest(loadOperations(operationsDir)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(MANIFEST_FILE, persistedQueryManifestText());
  console.log(`wrote ${MANIFEST_FILE}`);
}
