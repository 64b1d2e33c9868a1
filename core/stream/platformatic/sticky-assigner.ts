import type { GroupAssignment, GroupPartitionsAssigner } from '@platformatic/kafka';
import { decodeClaim } from '../kafka-membership.js';
import { keepAndShare } from '../sticky.js';
import type { TopicPartition } from '../types.js';

/**
 * The group leader's assignment for `ConsumerOptions.sticky`, as kafkajs's (kafka/sticky-assigner.ts):
 * every partition stays with the member that claims it in its join metadata (the library passes
 * that user data as `metadata`), only unclaimed partitions are shared out. The library calls its
 * `partitionAssigner` only with two members or more; a member alone gets every partition.
 */
export const stickyAssigner: GroupPartitionsAssigner = (_current, members, topics, metadata) => {
  const claims = new Map<string, TopicPartition[]>();
  for (const [memberId, member] of members) {
    const userData = typeof member.metadata === 'string' ? Buffer.from(member.metadata) : member.metadata;
    claims.set(memberId, decodeClaim(userData));
  }
  const partitions = [...topics].flatMap((topic) =>
    Array.from({ length: metadata.topics.get(topic)?.partitionsCount ?? 0 }, (_, partition): TopicPartition => ({ topic, partition })),
  );
  return [...keepAndShare(partitions, claims)].map(([memberId, tps]) => {
    const assignments = new Map<string, GroupAssignment>();
    for (const { topic, partition } of tps) {
      const entry = assignments.get(topic) ?? { topic, partitions: [] };
      entry.partitions.push(partition);
      assignments.set(topic, entry);
    }
    return { memberId, assignments };
  });
};
