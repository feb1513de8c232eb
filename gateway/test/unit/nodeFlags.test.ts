import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from '../../src/nodeFlags.js';

const read = (file: string) => readFileSync(new URL(`../../../${file}`, import.meta.url), 'utf8');

describe('missingNodeFlags', () => {
  it('names the flags given neither on the command line nor in NODE_OPTIONS', () => {
    expect(missingNodeFlags([], undefined)).toEqual([...GATEWAY_NODE_FLAGS]);
    expect(missingNodeFlags(['--import', 'tsx'], '--enable-source-maps')).toEqual([...GATEWAY_NODE_FLAGS]);
    expect(missingNodeFlags([...GATEWAY_NODE_FLAGS], undefined)).toEqual([]);
    expect(missingNodeFlags([], `--enable-source-maps ${GATEWAY_NODE_FLAGS.join(' ')}`)).toEqual([]);
  });

  it('takes any value the operator chose, in either spelling, as given', () => {
    expect(missingNodeFlags(['--max-semi-space-size=16'], undefined)).toEqual([]);
    expect(missingNodeFlags([], '--max_semi_space_size=128')).toEqual([]);
  });
});

describe('every launcher of the gateway starts it with GATEWAY_NODE_FLAGS', () => {
  it('npm run gateway', () => {
    const script: string = JSON.parse(read('package.json')).scripts.gateway;
    // The built release, run by plain node.
    expect(script).toMatch(/&& (.*)node (.*) gateway\/src\/main\.js$/);
    for (const flag of GATEWAY_NODE_FLAGS) expect(script.split(' ')).toContain(flag);
  });

  it('the Docker image and docker-compose.yml', () => {
    const command = `["node", ${GATEWAY_NODE_FLAGS.map((f) => JSON.stringify(f)).join(', ')}, "gateway/src/main.js"]`;
    expect(read('Dockerfile')).toContain(`CMD ${command}`);
    expect(read('docker-compose.yml')).toContain(`command: ${command}`);
  });
});
