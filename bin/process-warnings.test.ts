import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../test/helpers.js';
import { logProcessWarnings } from './process-warnings.js';

describe('Node.js process warnings', () => {
  it('go to the log as JSON (a known harmless one at debug), not as plain lines on stderr', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk)) as Record<string, unknown>), done()) });
    const printed: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array) => (printed.push(String(chunk)), true);
    try {
      logProcessWarnings(pino({ level: 'debug' }, sink));
      process.emitWarning('something odd', 'OddWarning');
      process.emitWarning('-1 is a negative number', 'TimeoutNegativeWarning');
      await waitFor(() => lines.length >= 2, 5_000, 'both warnings logged');
    } finally {
      process.stderr.write = write;
    }
    expect(lines).toEqual([
      expect.objectContaining({ level: 40, warning: 'OddWarning', message: 'something odd', msg: 'Node.js warning' }),
      expect.objectContaining({ level: 20, warning: 'TimeoutNegativeWarning', msg: 'Node.js warning' }),
    ]);
    expect(printed.join('')).not.toContain('OddWarning');
  });
});
