#!/usr/bin/env node
/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, or `npm run bench -- --cpu-prof DIR`): self time
 * per function and per file, highest first.
 *
 *   node dist/simulators/bench/profile.js DIR/x.cpuprofile [--top 30]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  selfMs: number;
  share: number;
}

export function summarise(profile: Profile, top = 30): { totalMs: number; functions: ProfileRow[]; files: ProfileRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const f = byId.get(id)!.callFrame;
    const where = f.url
      .replace(/^file:\/\//, '')
      .replace(/^.*\/(node_modules\/)/, '$1')
      .replace(/^.*\/dist\//, '');
    fn.set(
      `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`,
      (fn.get(`${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`) ?? 0) + ms,
    );
    file.set(where || f.functionName, (file.get(where || f.functionName) ?? 0) + ms);
    total += ms;
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, selfMs: Math.round(ms), share: Math.round((ms / total) * 1000) / 10 }));
  return { totalMs: Math.round(total), functions: rows(fn), files: rows(file) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/simulators/bench/profile.js FILE.cpuprofile [--top N]\n');
    process.exit(2);
  }
  const topAt = process.argv.indexOf('--top');
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, topAt > 0 ? Number(process.argv[topAt + 1]) : 30);
  process.stdout.write(`total ${s.totalMs} ms sampled\n\nself time by function:\n`);
  for (const r of s.functions) process.stdout.write(`${String(r.share).padStart(5)} %  ${String(r.selfMs).padStart(7)} ms  ${r.name}\n`);
  process.stdout.write('\nself time by file:\n');
  for (const r of s.files) process.stdout.write(`${String(r.share).padStart(5)} %  ${String(r.selfMs).padStart(7)} ms  ${r.name}\n`);
}
