import { z } from 'zod';
import { commonReading } from '../common.js';
import type { KindProfile, ProfileAttribute, ProfileField } from './schema.js';

function fieldType(field: ProfileField): z.ZodType {
  switch (field.type) {
    case 'number': {
      let n = z.number();
      if (field.min !== undefined) n = n.min(field.min);
      if (field.max !== undefined) n = n.max(field.max);
      return n;
    }
    case 'boolean':
      return z.boolean();
    case 'enum':
      return z.enum(field.values as [string, ...string[]]);
  }
}

/** The reading schema a profile defines: the common fields and its own (optional unless required). */
export function profileReading(profile: KindProfile): z.ZodObject {
  const shape: Record<string, z.ZodType> = { ...commonReading };
  for (const [name, field] of Object.entries(profile.fields)) shape[name] = field.required ? fieldType(field) : fieldType(field).optional();
  return z.object(shape);
}

/** A CSV registry's cells are text: a number or boolean column is read as one. */
const fromText = (parse: (text: string) => unknown) => (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? parse(v.trim()) : v);
const numberText = fromText((t) => (Number.isNaN(Number(t)) ? t : Number(t)));
const booleanText = fromText((t) => (t === 'true' ? true : t === 'false' ? false : t));

function attributeType(attr: ProfileAttribute): z.ZodType {
  switch (attr.type) {
    case 'string':
      return z.string().min(1).max(200);
    case 'number': {
      let n = z.number();
      if (attr.min !== undefined) n = n.min(attr.min);
      if (attr.max !== undefined) n = n.max(attr.max);
      return z.preprocess(numberText, n);
    }
    case 'boolean':
      return z.preprocess(booleanText, z.boolean());
    case 'enum':
      return z.enum(attr.values as [string, ...string[]]);
  }
}

/** The registry attributes a profile's nodes carry (a default fills an absent one). */
export function profileAttrs(profile: KindProfile): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, attr] of Object.entries(profile.attributes)) {
    const t = attributeType(attr);
    shape[name] = attr.default !== undefined ? t.default(attr.default as never) : attr.required ? t : t.optional();
  }
  return z.object(shape);
}
