import { z } from 'zod';

/**
 * The format of a profile kind: a sensor kind defined by a file (YAML or JSON) instead of code.
 * Everything the pipeline does with a kind (validation, online/offline, KPIs, alerts, InfluxDB
 * points, a dashboard, a simulator model) follows from it. README "Adding a sensor kind" has the
 * reference table; `loadProfiles` checks what a schema cannot (names that exist, thresholds in range).
 */

const name = z.string().regex(/^[a-z][a-z0-9]{1,31}$/, 'lower-case letters and digits, starting with a letter, 2 to 32 characters');
const identifier = z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'letters and digits, starting with a letter');
const alertName = z.string().regex(/^[A-Z][A-Za-z0-9]{2,63}$/, 'UpperCamelCase letters and digits, like RoadWaterlogging');
const description = z.string().max(500).optional();

const numberField = z.strictObject({
  type: z.literal('number'),
  unit: z.string().max(16).optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  required: z.boolean().default(false),
  description,
});
const booleanField = z.strictObject({ type: z.literal('boolean'), required: z.boolean().default(false), description });
const enumField = z.strictObject({
  type: z.literal('enum'),
  values: z.array(identifier).min(1).max(64),
  required: z.boolean().default(false),
  description,
});
const FIELD_TYPES = ['number', 'boolean', 'enum'] as const;
export const fieldSchema = z.discriminatedUnion('type', [numberField, booleanField, enumField], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown field type ${JSON.stringify((issue.input as { type?: unknown })?.type)} (one of ${FIELD_TYPES.join(', ')})`
      : undefined,
});
export type ProfileField = z.output<typeof fieldSchema>;

/** Registry attributes of the kind's nodes (besides nodeId, kind, district, lat, lon). */
export const attributeSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('string'), required: z.boolean().default(false), default: z.string().optional(), description }),
    z.strictObject({
      type: z.literal('number'),
      min: z.number().optional(),
      max: z.number().optional(),
      required: z.boolean().default(false),
      default: z.number().optional(),
      unit: z.string().max(16).optional(),
      description,
    }),
    z.strictObject({ type: z.literal('boolean'), required: z.boolean().default(false), default: z.boolean().optional(), description }),
    z.strictObject({
      type: z.literal('enum'),
      values: z.array(identifier).min(1).max(64),
      required: z.boolean().default(false),
      default: identifier.optional(),
      description,
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? `unknown attribute type ${JSON.stringify((issue.input as { type?: unknown })?.type)} (one of string, number, boolean, enum)`
        : undefined,
  },
);
export type ProfileAttribute = z.output<typeof attributeSchema>;

export const COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** A threshold: a number, boolean or enum value, or a node attribute (a per-node line, e.g. a closure depth). */
const threshold = z.union([z.number(), z.boolean(), identifier, z.strictObject({ attribute: identifier })]);
export type Threshold = z.output<typeof threshold>;

/** `field op value`, e.g. `{ field: depthM, op: gt, value: 0.15 }`. */
export const conditionSchema = z.strictObject({ field: identifier, op: z.enum(COMPARISONS), value: threshold });
export type ProfileCondition = z.output<typeof conditionSchema>;

/** One condition, or any/all of several. */
const when = z.union([
  conditionSchema,
  z.strictObject({ any: z.array(conditionSchema).min(1).max(16) }),
  z.strictObject({ all: z.array(conditionSchema).min(1).max(16) }),
]);
export type ProfileWhen = z.output<typeof when>;

/**
 * Per district and for the city: `mean`/`min`/`max` of a number field over the nodes' latest
 * readings; `count` of nodes whose latest reading meets `when`; `timeOver`: how long (seconds)
 * each node has met `when` without a break (its longest current run is the aggregate; every
 * node's run is in the KPIs' list).
 */
export const aggregateSchema = z.discriminatedUnion('op', [
  z.strictObject({ name: identifier, op: z.enum(['mean', 'min', 'max']), field: identifier, description }),
  z.strictObject({ name: identifier, op: z.literal('count'), when, description }),
  z.strictObject({ name: identifier, op: z.literal('timeOver'), when, description }),
]);
export type ProfileAggregate = z.output<typeof aggregateSchema>;

export const SEVERITIES = ['critical', 'major', 'minor', 'info'] as const;

/**
 * An alert on one node: fires once `when` has held for `holdS` (event time); with `clear`, it
 * stays until `clear` holds (hysteresis), else until `when` no longer does. The summary template
 * names the node's attributes in braces ({nodeId}, {district}, any profile attribute) and {value}.
 */
export const alertRuleSchema = z.strictObject({
  alert: alertName,
  severity: z.enum(SEVERITIES),
  when,
  clear: when.optional(),
  holdS: z.number().min(0).max(86_400).default(0),
  summary: z.string().min(1).max(300),
  description,
});
export type ProfileAlertRule = z.output<typeof alertRuleSchema>;

/** A simulated value: a fixed value, or a number drawn from [low, high]. */
const simulatedValue = z.union([z.number(), z.boolean(), identifier, z.tuple([z.number(), z.number()])]);
export type SimulatedValue = z.output<typeof simulatedValue>;

/**
 * How the simulator models the kind: what a healthy node reports (`normal`, per field) and named
 * scenarios that move a share of the kind's nodes to other values (reached over `rampS`).
 */
export const simulateSchema = z.strictObject({
  normal: z.record(identifier, simulatedValue).default({}),
  scenarios: z
    .record(
      z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case words joined by -'),
      z.strictObject({
        description,
        share: z.number().gt(0).max(1),
        rampS: z.number().min(0).max(86_400).default(0),
        values: z.record(identifier, simulatedValue),
      }),
    )
    .default({}),
});
export type ProfileSimulation = z.output<typeof simulateSchema>;

export const profileSchema = z.strictObject({
  kind: name,
  title: z.string().min(1).max(80),
  description,
  /** A healthy node reports at least this often (seconds); silence past it x grace is offline. */
  expectedIntervalS: z.number().int().min(1).max(86_400),
  fields: z.record(identifier, fieldSchema).refine((f) => Object.keys(f).length > 0, 'a profile needs at least one field'),
  attributes: z.record(identifier, attributeSchema).default({}),
  aggregates: z.array(aggregateSchema).max(32).default([]),
  alerts: z.array(alertRuleSchema).max(32).default([]),
  simulate: simulateSchema.default({ normal: {}, scenarios: {} }),
});
export type KindProfile = z.output<typeof profileSchema>;

/** Conditions of a `when`, whichever form it takes. */
export function conditionsOf(w: ProfileWhen): ProfileCondition[] {
  return 'any' in w ? w.any : 'all' in w ? w.all : [w];
}
