/**
 * What the `metrics.*` topics cost: bytes per second written to each (from the aggregating stage's
 * `citybrain_metrics_written_*_total` counters), extrapolated to a day, against the budget of
 * issue 15 (all of them together under 1 GB a day at 500,000 nodes); and which parts of the KPI
 * sections make the bytes (the JSON size of each top-level field of each section).
 */

/** The budget for all `metrics.*` topics together, bytes per day. */
export const METRICS_BUDGET_BYTES_PER_DAY = 1e9;

const DAY_S = 86_400;

/** A labelled counter of a Prometheus text exposition, summed per value of `label`. */
export function counterByLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pattern = new RegExp(`^${name}\\{(?:.*,)?${label}="([^"]*)"(?:,.*)?\\} (\\S+)$`);
  for (const line of text.split('\n')) {
    const m = pattern.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (Number.isFinite(value)) out[m[1]!] = (out[m[1]!] ?? 0) + value;
  }
  return out;
}

/** Bytes and records written so far, per metrics topic. */
export interface MetricsWritten {
  bytes: Record<string, number>;
  records: Record<string, number>;
}

export function metricsWritten(text: string): MetricsWritten {
  return {
    bytes: counterByLabel(text, 'citybrain_metrics_written_bytes_total', 'topic'),
    records: counterByLabel(text, 'citybrain_metrics_written_records_total', 'topic'),
  };
}

export interface MetricsTopicFigures {
  seconds: number;
  perTopic: Record<string, { bytesPerSecond: number; recordsPerSecond: number; bytesPerDay: number }>;
  bytesPerSecond: number;
  /** bytesPerSecond * 86,400: the day's bytes at the rate measured. */
  bytesPerDay: number;
  budgetBytesPerDay: number;
  met: boolean;
}

/** The rates between two readings of the counters `seconds` apart, per topic and in all. */
export function metricsTopicFigures(before: MetricsWritten, after: MetricsWritten, seconds: number): MetricsTopicFigures {
  const perTopic: MetricsTopicFigures['perTopic'] = {};
  let total = 0;
  for (const topic of Object.keys(after.bytes).sort()) {
    const bytes = after.bytes[topic]! - (before.bytes[topic] ?? 0);
    const records = (after.records[topic] ?? 0) - (before.records[topic] ?? 0);
    const bytesPerSecond = seconds > 0 ? bytes / seconds : 0;
    total += bytesPerSecond;
    perTopic[topic] = {
      bytesPerSecond: Math.round(bytesPerSecond),
      recordsPerSecond: seconds > 0 ? Math.round((records / seconds) * 100) / 100 : 0,
      bytesPerDay: Math.round(bytesPerSecond * DAY_S),
    };
  }
  const bytesPerDay = Math.round(total * DAY_S);
  return {
    seconds: Math.round(seconds * 10) / 10,
    perTopic,
    bytesPerSecond: Math.round(total),
    bytesPerDay,
    budgetBytesPerDay: METRICS_BUDGET_BYTES_PER_DAY,
    met: bytesPerDay < METRICS_BUDGET_BYTES_PER_DAY,
  };
}

/**
 * The JSON bytes of each top-level field of each section of a KPI document, largest first, with
 * the item count of list fields: which parts make a section's records big.
 */
export function sectionParts(kpis: Record<string, unknown>): Record<string, { bytes: number; fields: Record<string, string> }> {
  const out: Record<string, { bytes: number; fields: Record<string, string> }> = {};
  for (const [section, value] of Object.entries(kpis)) {
    if (!value || typeof value !== 'object') continue;
    const fields = Object.entries(value as Record<string, unknown>)
      .map(([field, v]) => ({ field, bytes: JSON.stringify(v)?.length ?? 0, items: Array.isArray(v) ? v.length : undefined }))
      .sort((a, b) => b.bytes - a.bytes);
    out[section] = {
      bytes: JSON.stringify(value).length,
      fields: Object.fromEntries(
        fields.map((f) => [
          f.field,
          `${f.bytes} B${f.items === undefined ? '' : ` (${f.items} items, ${Math.round(f.bytes / Math.max(1, f.items))} B each)`}`,
        ]),
      ),
    };
  }
  return out;
}
