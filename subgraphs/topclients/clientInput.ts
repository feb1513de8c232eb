/** Validates `ClientInput` before anything is written: every problem is reported at once, nothing changes. */
import { subgraphError } from '../toolkit/errors.js';
import type { ClientChanges } from './store.js';

export interface ClientInput {
  name?: string | null;
  logoUrl?: string | null;
  industry?: string | null;
  website?: string | null;
  verified?: boolean | null;
}

const MAX_TEXT = 200;

export function validateClientInput(input: ClientInput): ClientChanges {
  const problems: string[] = [];
  const changes: ClientChanges = {};
  if (input.name !== undefined) {
    const name = input.name?.trim() ?? '';
    if (!name) problems.push('name must not be empty');
    else if (name.length > MAX_TEXT) problems.push(`name must be at most ${MAX_TEXT} characters`);
    else changes.name = name;
  }
  for (const key of ['logoUrl', 'website'] as const) {
    const value = input[key];
    if (value === undefined) continue;
    if (value === null || value === '') changes[key] = null;
    else if (!isHttpUrl(value) && !(key === 'logoUrl' && value.startsWith('/'))) {
      problems.push(`${key} must be an http(s) URL${key === 'logoUrl' ? ' or a path starting with /' : ''}`);
    } else if (value.length > MAX_TEXT * 5) problems.push(`${key} is too long`);
    else changes[key] = value;
  }
  if (input.industry !== undefined) {
    const industry = input.industry?.trim() || null;
    if (industry && industry.length > MAX_TEXT) problems.push(`industry must be at most ${MAX_TEXT} characters`);
    else changes.industry = industry;
  }
  if (input.verified !== undefined) {
    if (input.verified === null) problems.push('verified cannot be null');
    else changes.verified = input.verified;
  }
  if (problems.length > 0) throw subgraphError('BAD_USER_INPUT', `Invalid client input: ${problems.join('; ')}`);
  return changes;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
