import { describe, expect, it } from 'vitest';
import { compactionUpgrade, TransportMembers } from './kafka-shared.js';

// The members and closing both Kafka transports share, without a broker (the Kafka suites run them against one).
describe('Kafka transport members, shared', () => {
  const member = (name: string, events: string[]) => ({
    start: async () => void events.push(`start ${name}`),
    stop: async () => void events.push(`stop ${name}`),
  });

  it('close() stops the members still running, then releases the producer and admin; once', async () => {
    const events: string[] = [];
    const members = new TransportMembers<ReturnType<typeof member>>();
    const a = await members.start(member('a', events));
    await members.start(member('b', events));
    members.forget(a); // a stopped by itself
    let releases = 0;
    const release = () => {
      releases++;
      events.push('release');
      // A failed disconnect does not fail close(); nothing to release is left out.
      return [Promise.reject(new Error('broker gone')), undefined, Promise.resolve().then(() => void events.push('admin closed'))];
    };
    await members.close(release);
    expect(events).toEqual(['start a', 'start b', 'stop b', 'release', 'admin closed']);
    expect(() => members.assertOpen()).toThrow('KafkaTransport is closed');
    await members.close(release);
    expect(releases).toBe(1);
  });

  it('is open until close() has stopped its members', async () => {
    const members = new TransportMembers<ReturnType<typeof member>>();
    let openWhileStopping = false;
    await members.start({
      start: async () => {},
      stop: async () => {
        members.assertOpen();
        openWhileStopping = true;
      },
    });
    members.assertOpen();
    await members.close(() => []);
    expect(openWhileStopping).toBe(true);
  });
});

describe('compactionUpgrade', () => {
  const spec = { name: 'metrics.noise', partitions: 1, compacted: true, retentionMs: 604_800_000, configs: { 'segment.ms': '3600000' } };
  it('gives a delete-only topic its compacting policy and settings, not its retention', () => {
    expect(compactionUpgrade(spec, 'delete')).toEqual([
      { name: 'cleanup.policy', value: 'compact,delete' },
      { name: 'segment.ms', value: '3600000' },
    ]);
    expect(compactionUpgrade(spec, undefined)).toEqual(compactionUpgrade(spec, 'delete')); // the broker's default is delete
    expect(compactionUpgrade({ name: 'alerts', partitions: 1, compacted: true }, 'delete')).toEqual([
      { name: 'cleanup.policy', value: 'compact' },
    ]);
  });
  it('leaves a topic alone that compacts already or that its spec does not compact', () => {
    expect(compactionUpgrade(spec, 'compact,delete')).toBeNull();
    expect(compactionUpgrade(spec, 'compact')).toBeNull();
    expect(compactionUpgrade({ name: 'telemetry.raw', partitions: 12, retentionMs: 1 }, 'delete')).toBeNull();
  });
});
