import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';

/**
 * The map's view: fitted to the markers of all layers, so it shows wherever the city's nodes are
 * (any city, not only the default registry's). Grafana's schema types `view.lat` / `view.lon` as
 * integers, so a fixed centre could only be whole degrees (tens of km off); with `id: 'fit'`
 * Grafana ignores them and uses `zoom` as the most it zooms in (one lot alone stays a street view).
 * Built as a plain object because the SDK's builder would add its defaults `lat: 0, lon: 0`.
 * Checked against Grafana's Go models by dashboards/schema.test.ts.
 */
export function cityMap(): cog.Builder<geomap.MapViewConfig> {
  const view: geomap.MapViewConfig = { id: geomap.MapCenterID.Fit, allLayers: true, zoom: 15 };
  return { build: () => ({ ...view }) };
}

/** A markers layer from `lat` / `lon` columns, fixed colour, or coloured by a numeric field's thresholds. */
export function markers(name: string, color: string, colorField?: string): common.MapLayerOptionsBuilder {
  return new common.MapLayerOptionsBuilder()
    .type('markers')
    .name(name)
    .location(new common.FrameGeometrySourceBuilder().mode(common.FrameGeometrySourceMode.Coords).latitude('lat').longitude('lon'))
    .tooltip(true)
    .config({
      showLegend: true,
      style: {
        color: colorField ? { field: colorField, fixed: color } : { fixed: color },
        size: { fixed: 6 },
        opacity: 0.8,
        symbol: { mode: 'fixed', fixed: 'img/icons/marker/circle.svg' },
      },
    });
}
