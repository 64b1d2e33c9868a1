import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';
import { decodeClaim, encodeClaim, STICKY_PROTOCOL } from '../kafka-membership.js';
import { keepAndShare } from '../sticky.js';
import type { TopicPartition } from '../types.js';

const { MemberMetadata, MemberAssignment } = AssignerProtocol;

/**
 * A group assignment that leaves every partition with the member that owns it (each member tells
 * the group leader what it owns in its join metadata) and shares out only the partitions nobody
 * owns (a member left or died). `ConsumerOptions.sticky`: a member that joins takes nothing away.
 */
export function stickyAssigner(owned: () => TopicPartition[]): PartitionAssigner {
  return ({ cluster }) => ({
    name: STICKY_PROTOCOL,
    version: 0,
    async assign({ members, topics }) {
      const claims = new Map<string, TopicPartition[]>();
      for (const { memberId, memberMetadata } of members) {
        claims.set(memberId, decodeClaim(MemberMetadata.decode(memberMetadata)?.userData));
      }
      const partitions = topics.flatMap((topic) =>
        cluster.findTopicPartitionMetadata(topic).map((m): TopicPartition => ({ topic, partition: m.partitionId })),
      );
      const next = keepAndShare(partitions, claims);
      return [...next].map(([memberId, tps]) => {
        const assignment: Record<string, number[]> = {};
        for (const { topic, partition } of tps) (assignment[topic] ??= []).push(partition);
        return { memberId, memberAssignment: MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }) };
      });
    },
    protocol({ topics }) {
      return {
        name: STICKY_PROTOCOL,
        metadata: MemberMetadata.encode({ version: 0, topics, userData: encodeClaim(owned()) }),
      };
    },
  });
}
