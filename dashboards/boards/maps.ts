import * as common from '@grafana/grafana-foundation-sdk/common';
import * as geomap from '@grafana/grafana-foundation-sdk/geomap';

/** The city's centre (the default registry and lamp timetable: about 36.65 N, 117.12 E). */
export const CITY_CENTRE = { lat: 36.65, lon: 117.12 } as const;

export function cityMap(): geomap.MapViewConfigBuilder {
  return new geomap.MapViewConfigBuilder().id('coords').lat(CITY_CENTRE.lat).lon(CITY_CENTRE.lon).zoom(10);
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
