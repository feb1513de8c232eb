/** Writes gateway/SETTINGS.md from the settings the gateway's modules declare (`npm run settings-doc`). */
import { writeFileSync } from 'node:fs';
import { ALL_SETTINGS } from '../gateway/src/config.js';
import { settingsMarkdown } from '../gateway/src/settings.js';

const SETTINGS_DOC = new URL('../gateway/SETTINGS.md', import.meta.url);

writeFileSync(SETTINGS_DOC, settingsMarkdown(ALL_SETTINGS));
