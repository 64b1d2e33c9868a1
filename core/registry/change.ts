import { z } from 'zod';
import { districtName, topicLevel } from '../kinds/common.js';

/**
 * A change of the registry: one record on the compacted `registry` topic, keyed by what it
 * changes (`node/<id>`, `gateway/<id>`, `road/<name>`), so compaction keeps each one's latest
 * state. A record carries the whole entity (as it is after a create or update, as it was when
 * decommissioned): applied in any order after compaction, the records give the same registry.
 */
export const REGISTRY_OPS = ['create', 'update', 'decommission'] as const;
export type RegistryOp = (typeof REGISTRY_OPS)[number];
export const REGISTRY_ENTITIES = ['node', 'gateway', 'road'] as const;
export type RegistryEntity = (typeof REGISTRY_ENTITIES)[number];

/** Who made a change: the API token's name and role, or `seed` for the registry's first contents. */
export const actorSchema = z.object({
  name: z.string().min(1).max(80),
  role: z.string().min(1).max(20),
  /** Which API token: the first characters of its SHA-256 (never the token). */
  token: z.string().max(16).optional(),
});
export type Actor = z.output<typeof actorSchema>;

/**
 * A gateway: its own attributes. Which nodes it carries is each node's `gatewayId` (one record
 * per node, so a node's record alone says who may speak for it); the API's `nodes` list of a
 * gateway is written as those nodes' records.
 */
export const gatewaySchema = z
  .object({
    gatewayId: topicLevel,
    district: districtName.optional(),
    lat: z.number().min(-90).max(90).optional(),
    lon: z.number().min(-180).max(180).optional(),
    name: z.string().max(200).optional(),
  })
  .strict();
export type RegistryGateway = z.output<typeof gatewaySchema>;

export const registryChangeSchema = z.object({
  /** Unique per change: a writer waits until its stage has applied it. */
  changeId: z.string().min(1).max(64),
  /** When it was made (epoch ms, the writer's clock). */
  at: z.number(),
  op: z.enum(REGISTRY_OPS),
  entity: z.enum(REGISTRY_ENTITIES),
  id: z.string().min(1).max(200),
  /** The entity (node: validated against its kind when applied; gateway: gatewaySchema; road: roadSchema). */
  value: z.record(z.string(), z.unknown()),
  by: actorSchema,
});
export type RegistryChange = z.output<typeof registryChangeSchema>;

/** The record key of a change: compaction keeps the latest per entity. */
export function changeKey(change: Pick<RegistryChange, 'entity' | 'id'>): string {
  return `${change.entity}/${change.id}`;
}

/** Key of the catch-up markers a starting stage writes to learn where the topic ended. */
export const MARKER_KEY = 'marker';
