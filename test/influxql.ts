export type Row = Record<string, unknown>;

/** InfluxQL through /query: rows as objects, time in the given epoch. */
export async function select(url: string, database: string, q: string, epoch: 'ms' | 'ns' = 'ms'): Promise<Row[]> {
  const response = await fetch(`${url}/query?${new URLSearchParams({ db: database, q, epoch }).toString()}`);
  const json = (await response.json()) as {
    error?: string;
    results?: Array<{ error?: string; series?: Array<{ columns: string[]; values: unknown[][] }> }>;
  };
  if (json.error || !json.results) throw new Error(`${json.error ?? `HTTP ${response.status}`} (query: ${q})`);
  const result = json.results[0]!;
  if (result.error) throw new Error(`${result.error} (query: ${q})`);
  return (result.series ?? []).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}
