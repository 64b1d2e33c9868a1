/**
 * A minimal YAML writer for the provisioning files (block style; every string double-quoted, which
 * YAML reads exactly like JSON strings). Enough for plain objects, arrays, strings, numbers, booleans.
 */
export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml | undefined };

const key = (k: string) => (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : JSON.stringify(k));
const scalar = (v: string | number | boolean | null) => (v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : String(v));
const isEmpty = (v: Yaml) => (Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0);

function lines(value: Yaml, indent: string): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (item !== null && typeof item === 'object' && !isEmpty(item)) {
        const [first = '', ...rest] = lines(item, `${indent}  `);
        return [`${indent}- ${first.trimStart()}`, ...rest];
      }
      return [`${indent}- ${flow(item)}`];
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      if (v === undefined) return [];
      if (v !== null && typeof v === 'object' && !isEmpty(v)) return [`${indent}${key(k)}:`, ...lines(v, `${indent}  `)];
      return [`${indent}${key(k)}: ${flow(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

function flow(v: Yaml): string {
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return scalar(v);
}

/** The YAML text of `value`, with `# comment` lines on top. */
export function toYaml(value: Yaml, comments: string[] = []): string {
  return `${[...comments.map((c) => `# ${c}`), ...lines(value, '')].join('\n')}\n`;
}
