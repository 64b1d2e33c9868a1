import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { PipelineMetrics } from '../../core/index.js';
import { buildApi } from '../server.js';
import { defaultKinds } from '../../core/kinds/modules.js';
import { stubView } from '../../test/stub-view.js';

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  required?: string[];
  anyOf?: JsonSchema[];
};
type OpenApi = {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema: JsonSchema }> }> }>>;
};

/** The OpenAPI document at /docs/json describes what the read routes answer (their 200 response schemas). */
describe('OpenAPI document', () => {
  const view = stubView();

  it('has response schemas for /api/v1/kpis, /api/v1/nodes, /api/v1/nodes/{id} and /api/v1/alerts', async () => {
    const app = await buildApi({
      view,
      kinds: defaultKinds(),
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/docs/json' });
      expect(res.statusCode).toBe(200);
      const doc = res.json<OpenApi>();
      const schemaOf = (path: string, method = 'get', status = '200') => {
        const schema = doc.paths[path]?.[method]?.responses?.[status]?.content?.['application/json']?.schema;
        expect(schema, `${method} ${path} ${status}`).toBeDefined();
        return schema!;
      };

      const kpis = schemaOf('/api/v1/kpis');
      expect(Object.keys(kpis.properties!)).toEqual(
        expect.arrayContaining(['evaluatedAt', 'lighting', 'groundwater', 'noise', 'parking', 'nodes']),
      );
      expect(kpis.required).toEqual(expect.arrayContaining(['evaluatedAt', 'lighting', 'groundwater', 'noise', 'parking', 'nodes']));
      expect(Object.keys(kpis.properties!.lighting!.properties!)).toEqual(
        expect.arrayContaining(['rate', 'byRoadClass', 'byDistrict', 'installation', 'intact', 'roads']),
      );
      expect(Object.keys(kpis.properties!.nodes!.properties!)).toEqual(
        expect.arrayContaining(['total', 'online', 'offline', 'ratio', 'byKind', 'byDistrict']),
      );
      // Districts, road classes, zone classes: open maps.
      expect(kpis.properties!.lighting!.properties!.byDistrict!.additionalProperties).toMatchObject({ type: 'object' });
      // Profile kinds' sections (waterlogging, manhole, ...) under their kind's name.
      expect(kpis.required).toEqual(expect.arrayContaining(['waterlogging', 'manhole']));
      const profile = kpis.properties!.waterlogging!;
      expect(Object.keys(profile.properties!)).toEqual(
        expect.arrayContaining(['title', 'nodes', 'reporting', 'aggregates', 'byDistrict', 'list']),
      );
      expect(schemaOf('/api/v1/kpis', 'get', '503').properties).toHaveProperty('error');

      const page = schemaOf('/api/v1/nodes');
      expect(Object.keys(page.properties!)).toEqual(expect.arrayContaining(['total', 'limit', 'offset', 'items']));
      const item = page.properties!.items!.items!;
      expect(Object.keys(item.properties!)).toEqual(expect.arrayContaining(['node', 'health']));
      expect(item.properties!.node!.anyOf!.length).toBeGreaterThanOrEqual(5); // four built-in kinds and profile kinds
      const one = schemaOf('/api/v1/nodes/{id}');
      expect(Object.keys(one.properties!)).toEqual(expect.arrayContaining(['node', 'health', 'latest', 'derived']));
      expect(schemaOf('/api/v1/nodes/{id}', 'get', '404').properties).toHaveProperty('message');

      const alerts = schemaOf('/api/v1/alerts');
      expect(Object.keys(alerts.properties!)).toEqual(expect.arrayContaining(['total', 'items']));
      const alert = alerts.properties!.items!.items!;
      expect(Object.keys(alert.properties!)).toEqual(
        expect.arrayContaining(['id', 'alertname', 'severity', 'labels', 'state', 'summary', 'startsAt', 'updatedAt', 'notes']),
      );
      expect(alert.required).toEqual(expect.arrayContaining(['id', 'alertname', 'severity', 'labels', 'state']));
      for (const path of ['/api/v1/alerts/{id}/ack', '/api/v1/alerts/{id}/notes']) {
        expect(Object.keys(schemaOf(path, 'post').properties!)).toEqual(expect.arrayContaining(['id', 'state', 'notes']));
      }
    } finally {
      await app.close();
    }
  });
});
