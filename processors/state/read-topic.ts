import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import type { StreamRecord, StreamTransport } from '../../core/index.js';

/**
 * Reads a topic from its earliest retained record to its end as it is now (a compacted topic:
 * the latest record of every key, perhaps a few older ones), with a throwaway group.
 */
export async function readToEnd(
  transport: StreamTransport,
  topic: string,
  onRecord: (record: StreamRecord) => void,
  timeoutMs = 30_000,
): Promise<void> {
  const reader = await transport.consume({
    groupId: `citybrain-read-${topic}-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onBatch: async (batch) => batch.records.forEach(onRecord),
  });
  try {
    const until = Date.now() + timeoutMs;
    while (Object.values(await reader.lag()).some((n) => n > 0)) {
      if (Date.now() > until) throw new Error(`could not read topic ${topic} to its end within ${timeoutMs} ms`);
      await sleep(50);
    }
  } finally {
    await reader.stop();
  }
}
