// Regenerates config/realtime-ptt.example.yaml from the schema: npx tsx test/config/write-example.ts
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderExampleConfig } from '../../src/config/index.js';

const target = fileURLToPath(new URL('../../config/realtime-ptt.example.yaml', import.meta.url));
writeFileSync(target, renderExampleConfig());
process.stdout.write(`wrote ${target}\n`);
