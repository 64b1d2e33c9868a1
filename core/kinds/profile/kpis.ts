/**
 * The KPI section of a profile kind, as `/api/v1/kpis` serves it under the kind's name, the
 * aggregator writes it to `metrics.<kind>` and the InfluxDB sink stores it. Aggregate values are
 * keyed by the profile's aggregate names: `mean`/`min`/`max` over the nodes' latest readings
 * (null when no node has a value), `count` of nodes meeting the condition, `timeOver` the longest
 * current run (seconds) of any node meeting it (0 when none does).
 */
export interface ProfileKpis {
  title: string;
  /** Registry nodes of the kind, and those with at least one accepted reading. */
  nodes: number;
  reporting: number;
  aggregates: Record<string, number | null>;
  byDistrict: Record<string, { nodes: number; reporting: number; aggregates: Record<string, number | null> }>;
  /**
   * The nodes that meet any `count` or `timeOver` condition or alert rule now (bounded by what is
   * wrong, not by the city's size), sorted by node id: their latest values, how long each
   * `timeOver` condition has held (seconds), and the alert rules that hold.
   */
  list: ProfileNodeRow[];
}

export interface ProfileNodeRow {
  nodeId: string;
  district: string;
  ts: number;
  values: Record<string, number | boolean | string>;
  timeOver: Record<string, number>;
  /** `alert/severity` of the rules whose condition holds for this node. */
  rules: string[];
}
