/**
 * Stateless hashing helpers: every random-looking value of a reading is a hash of (seed, node, what, when),
 * so a reading is a pure function of its inputs and repeats exactly for the same seed.
 */

const TWO_32 = 4_294_967_296;

/** murmur3 finalizer: a good 32-bit avalanche. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a of a string, perturbed by a seed and finalized. */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ fmix(seed >>> 0)) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h);
}

/** Combines a 32-bit hash with any integer up to 2^53 (epoch ms included). */
export function mix(h: number, k: number): number {
  const lo = k >>> 0;
  const hi = Math.floor(k / TWO_32) >>> 0;
  let x = fmix((h ^ Math.imul(lo ^ 0x9e3779b9, 0xcc9e2d51)) >>> 0);
  x = fmix((x ^ Math.imul(hi + 0x7f4a7c15, 0x1b873593)) >>> 0);
  return x;
}

/** Uniform in [0, 1) from a hash and up to two keys. */
export function unit(h: number, a: number, b = 0): number {
  return mix(mix(h, a), b) / TWO_32;
}

/** Standard normal (Box-Muller) from a hash and up to two keys. */
export function gauss(h: number, a: number, b = 0): number {
  const u1 = (mix(mix(h, a), b) + 0.5) / TWO_32;
  const u2 = mix(mix(h, a ^ 0x5bd1e995), b) / TWO_32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

export function round(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** Hash of a node id under a seed: the root of every per-node value. */
export function nodeHash(nodeId: string, seed: number): number {
  return hashString(nodeId, seed);
}
