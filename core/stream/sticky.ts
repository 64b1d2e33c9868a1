import type { TopicPartition } from './types.js';

const key = ({ topic, partition }: TopicPartition) => `${topic}\u0000${partition}`;

/**
 * Sticky assignment (ConsumerOptions.sticky), the same on both transports: each partition stays
 * with the member that claims it (the first claim wins), and the unclaimed ones go one by one to
 * the member with the fewest, ties to the member listed first. Every member gets an entry.
 */
export function keepAndShare<M>(partitions: TopicPartition[], claims: Map<M, TopicPartition[]>): Map<M, TopicPartition[]> {
  const next = new Map<M, TopicPartition[]>([...claims.keys()].map((m) => [m, []]));
  const exists = new Set(partitions.map(key));
  const taken = new Set<string>();
  for (const [member, claimed] of claims) {
    for (const tp of claimed) {
      if (!exists.has(key(tp)) || taken.has(key(tp))) continue;
      taken.add(key(tp));
      next.get(member)!.push({ topic: tp.topic, partition: tp.partition });
    }
  }
  const members = [...next.keys()];
  for (const tp of partitions) {
    if (taken.has(key(tp)) || members.length === 0) continue;
    const fewest = members.reduce((a, b) => (next.get(b)!.length < next.get(a)!.length ? b : a));
    next.get(fewest)!.push(tp);
  }
  return next;
}
