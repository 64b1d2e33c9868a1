import type { KindProfile, ProfileKpis } from '../../core/index.js';
import type { EvalContext, Evaluation, KindMerger } from '../types.js';
import type { ProfileSection } from './processor.js';
import { emptyPart, finish, mergePart, type AggregatePart } from './tally.js';

interface Tally {
  nodes: number;
  reporting: number;
  parts: AggregatePart[];
}

/**
 * Merges the sections of every partition into a profile kind's `ProfileKpis`: each district's
 * parts merged exactly (so any split of the nodes gives the same KPIs), the city from all of
 * them, and the problem rows of all partitions. Its node rules' conditions come with the
 * partials; the merge adds none.
 */
export class ProfileMerger implements KindMerger<ProfileSection> {
  readonly #profile: KindProfile;

  constructor(profile: KindProfile) {
    this.#profile = profile;
  }

  merge(sections: ProfileSection[], _ctx: EvalContext): Evaluation {
    const { aggregates } = this.#profile;
    const fresh = (): Tally => ({ nodes: 0, reporting: 0, parts: aggregates.map(emptyPart) });
    const city = fresh();
    const districts = new Map<string, Tally>();
    const add = (into: Tally, from: ProfileSection['districts'][string]) => {
      into.nodes += from.nodes;
      into.reporting += from.reporting;
      aggregates.forEach((a, k) => {
        const part = from.aggregates[a.name];
        if (part !== undefined) into.parts[k] = mergePart(a, into.parts[k]!, part);
      });
    };
    for (const section of sections) {
      if (!section) continue; // a partial from an instance that did not know this kind
      for (const [district, part] of Object.entries(section.districts)) {
        let d = districts.get(district);
        if (!d) districts.set(district, (d = fresh()));
        add(d, part);
        add(city, part);
      }
    }
    const values = (t: Tally) => Object.fromEntries(aggregates.map((a, k) => [a.name, finish(a, t.parts[k]!)]));
    const kpis: ProfileKpis = {
      title: this.#profile.title,
      nodes: city.nodes,
      reporting: city.reporting,
      aggregates: values(city),
      byDistrict: Object.fromEntries(
        [...districts]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([district, t]) => [district, { nodes: t.nodes, reporting: t.reporting, aggregates: values(t) }]),
      ),
      list: sections.flatMap((s) => s?.list ?? []).sort((a, b) => a.nodeId.localeCompare(b.nodeId)),
    };
    return { kpis: kpis as unknown as Record<string, unknown>, conditions: [] };
  }
}
