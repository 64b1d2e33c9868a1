import type { Comparison, ProfileCondition, ProfileNode, ProfileWhen } from '../../core/index.js';

/** A field's latest value as readings carry it (number, boolean, or an enum's name). */
export type FieldValue = number | boolean | string;
/** A node's latest value of each field; a field it never reported is absent. */
export type FieldValues = Readonly<Record<string, FieldValue | undefined>>;

/**
 * `a op b`. Only values of one type compare, and only numbers order: a missing field (or a node
 * without the attribute a threshold names) never meets a condition, not even `ne`.
 */
function compare(op: Comparison, a: unknown, b: unknown): boolean {
  if (a === undefined || typeof a !== typeof b) return false;
  if (typeof a === 'number') {
    const x = a;
    const y = b as number;
    switch (op) {
      case 'gt':
        return x > y;
      case 'gte':
        return x >= y;
      case 'lt':
        return x < y;
      case 'lte':
        return x <= y;
      case 'eq':
        return x === y;
      case 'ne':
        return x !== y;
    }
  }
  return op === 'eq' ? a === b : op === 'ne' ? a !== b : false;
}

/** Whether one condition holds: the threshold is a fixed value or the node's attribute (defaults already filled by the registry). */
export function meets(c: ProfileCondition, values: FieldValues, node: ProfileNode): boolean {
  const threshold = typeof c.value === 'object' ? node[c.value.attribute] : c.value;
  return compare(c.op, values[c.field], threshold);
}

/** Whether a `when` holds: its one condition, any of them, or all of them. */
export function holds(w: ProfileWhen, values: FieldValues, node: ProfileNode): boolean {
  if ('any' in w) return w.any.some((c) => meets(c, values, node));
  if ('all' in w) return w.all.every((c) => meets(c, values, node));
  return meets(w, values, node);
}

/**
 * The field a rule's message quotes: that of its `when`'s first condition that holds, else (a
 * rule kept active by hysteresis after its `when` stopped holding) of its first condition.
 */
export function quotedField(w: ProfileWhen, values: FieldValues, node: ProfileNode): string {
  const list = 'any' in w ? w.any : 'all' in w ? w.all : [w];
  return (list.find((c) => meets(c, values, node)) ?? list[0]!).field;
}

/** A value as a message shows it: numbers to at most 3 decimals (a sensor's 0.2345678 is 0.235). */
export function formatValue(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  if (typeof v === 'number') return String(Math.round(v * 1000) / 1000);
  return typeof v === 'object' ? JSON.stringify(v) : `${v as string | boolean}`;
}

/**
 * Fills a rule's summary template: {nodeId}, {district}, {kind}, {value} and any attribute of the
 * node; a placeholder with nothing to show renders as `-` (the loader has checked the names).
 */
export function renderSummary(template: string, node: ProfileNode, value: FieldValue | undefined): string {
  return template.replace(/\{([^}]*)\}/g, (_, name: string) => formatValue(name === 'value' ? value : node[name]));
}
