/**
 * Kafka's default partitioner: murmur2 of the key bytes, made positive, modulo the partition count.
 * Both transports use it, so a node lands on the same partition whichever log carries it.
 */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const r = 24;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const length4 = length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = (data[i4]! & 0xff) + ((data[i4 + 1]! & 0xff) << 8) + ((data[i4 + 2]! & 0xff) << 16) + ((data[i4 + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> r;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  switch (length % 4) {
    case 3:
      h ^= (data[tail + 2]! & 0xff) << 16;
    // falls through
    case 2:
      h ^= (data[tail + 1]! & 0xff) << 8;
    // falls through
    case 1:
      h ^= data[tail]! & 0xff;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

let roundRobin = 0;

/** The Java client's hash of a key: murmur2 made positive by masking the sign bit (not `>>> 0`). */
export function keyHash(key: Buffer): number {
  return murmur2(key) & 0x7fffffff;
}

/** The next partition of a message without a key (the caller takes it modulo the partition count). */
export function nextRoundRobin(): number {
  return roundRobin++;
}

export function partitionFor(key: string | null, partitions: number): number {
  if (key === null) return nextRoundRobin() % partitions;
  return keyHash(Buffer.from(key)) % partitions;
}
