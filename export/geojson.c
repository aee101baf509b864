/*
 * GeoJSON (RFC 7946): a FeatureCollection with a Point per located item
 * ([lon, lat] or [lon, lat, alt]) and the GPS track as a LineString.
 * RFC 7946 fixes the datum to WGS-84; each feature also says so in its
 * properties, and items without a place are counted, not drawn.
 */
#include <math.h>
#include <stdlib.h>

#include "export.h"
#include "timeutil.h"

static json_t *position(double lon, double lat, double alt, int with_alt)
{
	json_t *p = json_array();
	json_array_append_new(p, json_real(lon));
	json_array_append_new(p, json_real(lat));
	if (with_alt && isfinite(alt))
		json_array_append_new(p, json_real(alt));
	return p;
}

/* Text as GeoJSON carries it: JSON escapes control characters itself,
 * and a text-direction character is written \xNN as in the other formats
 * (a map program would show a card's DJI_0001<U+202E>GPJ.exe as
 * DJI_0001exe.JPG). */
static json_t *text(const char *s)
{
	char *e = export_direction_escape(s);
	json_t *v = json_string(e);
	free(e);
	return v ? v : json_string(s);
}

/* A copy of the field, its text as text() gives it, or null. */
static json_t *field(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_string(v))
		return text(json_string_value(v));
	return v ? json_incref(v) : json_null();
}

static json_t *item_feature(const json_t *it)
{
	json_t *alt = json_object_get(it, "alt");
	json_t *geom = json_pack("{s:s, s:o}", "type", "Point", "coordinates",
				 position(json_number_value(json_object_get(it, "lon")),
					  json_number_value(json_object_get(it, "lat")),
					  json_number_value(alt), json_is_number(alt)));
	json_t *props = json_object();
	json_object_set_new(props, "sha256", field(it, "sha256"));
	json_object_set_new(props, "time", field(it, "captured_at"));
	json_object_set_new(props, "case", field(it, "case"));
	json_object_set_new(props, "kind", field(it, "kind"));
	json_object_set_new(props, "sources",
			    json_pack("{s:O, s:O}", "time", json_object_get(it, "time_source")
						  ? json_object_get(it, "time_source") : json_null(),
				      "location", json_object_get(it, "location_source")
						  ? json_object_get(it, "location_source") : json_null()));
	json_object_set_new(props, "id", field(it, "id"));
	json_object_set_new(props, "name", field(it, "original_name"));
	json_object_set_new(props, "format", field(it, "format"));
	json_object_set_new(props, "site", field(it, "site"));
	json_object_set_new(props, "location_error_m", field(it, "location_error_m"));
	json_object_set_new(props, "camera_time", field(it, "camera_time"));
	json_object_set_new(props, "tz_offset", field(it, "tz_offset"));
	json_object_set_new(props, "make", field(it, "make"));
	json_object_set_new(props, "model", field(it, "model"));
	json_object_set_new(props, "datum", json_string("WGS-84"));
	return json_pack("{s:s, s:o, s:o}", "type", "Feature", "geometry", geom, "properties", props);
}

static json_t *track_feature(const struct track *t, const char *source)
{
	int all_alt = 1;
	for (size_t i = 0; i < t->n; i++)
		if (!isfinite(t->v[i].alt))
			all_alt = 0;
	json_t *coords = json_array();
	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(coords, position(t->v[i].lon, t->v[i].lat, t->v[i].alt, all_alt));
	char a[32], b[32];
	time_format_iso(t->v[0].t, a);
	time_format_iso(t->v[t->n - 1].t, b);
	json_t *props = json_pack("{s:s, s:o, s:s, s:s, s:I, s:s}", "kind", "track", "source",
				  text(source), "start", a, "end", b, "fixes", (json_int_t)t->n,
				  "datum", "WGS-84");
	return json_pack("{s:s, s:{s:s, s:o}, s:o}", "type", "Feature", "geometry", "type",
			 "LineString", "coordinates", coords, "properties", props);
}

int export_geojson(const struct export_ctx *c, struct buf *out, char *err, size_t errlen)
{
	json_t *fc = json_object(), *feats = json_array();
	size_t i, located = 0;
	json_t *it;
	int rc = 0;
	json_array_foreach(c->items, i, it) {
		if (!export_item_located(it))
			continue;
		json_array_append_new(feats, item_feature(it));
		located++;
	}
	for (size_t k = 0; k < c->tracks.n; k++)
		if (c->tracks.v[k].n >= 2)
			json_array_append_new(feats,
					      track_feature(&c->tracks.v[k], c->tracks.source[k]));
	char now[32];
	time_format_iso(c->opt.now, now);
	json_object_set_new(fc, "type", json_string("FeatureCollection"));
	/* a foreign member (RFC 7946 §6.1): what this file is and what it leaves out */
	json_object_set_new(fc, "evcap",
			    json_pack("{s:o, s:s, s:s, s:I, s:I}", "case",
				      field(c->case_row, "number"), "datum", "WGS-84",
				      "generated_at", now, "items",
				      (json_int_t)json_array_size(c->items), "items_without_location",
				      (json_int_t)(json_array_size(c->items) - located)));
	json_object_set_new(fc, "features", feats);
	char *txt = json_dumps(fc, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	if (!txt || buf_puts(out, txt) || buf_putc(out, '\n'))
		rc = err_set(err, errlen, EV_ELIMIT, "the GeoJSON does not fit the output limit");
	free(txt);
	json_decref(fc);
	return rc;
}
