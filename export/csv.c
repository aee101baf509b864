/*
 * CSV for Excel on a Chinese Windows desktop and for scripts: UTF-8 with a
 * byte-order mark (without it Excel reads the bytes as GBK and garbles
 * every Chinese character), CRLF line ends and RFC 4180 quoting. One row
 * an item with every field of `ls --json`, then one row a reading, all in
 * one rectangular table told apart by the first column, record_type.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "gcj02.h"

/* The fields of `ls --json`, in its order; any field the items carry
 * beyond these is added after them, so a new field is never dropped. */
static const char *const item_fields[] = {
	"id", "sha256", "size", "kind", "format", "original_name", "original_path", "case",
	"site", "operators", "captured_at", "camera_time", "tz_offset", "time_source",
	"gps_time", "lat", "lon", "alt", "location_source", "location_error_m", "datum",
	"make", "model", "serial", "width", "height", "medium_uuid", "medium_label",
	"ingested_at", "metadata_error", "metadata_note", "origin", "gimbal_yaw",
	"gimbal_pitch", "flight_yaw", "rel_alt", "subsec", "offset_raw", "source_device",
	"bundle_id", "gps_datum", "img_direction", "img_direction_ref", "xmp_alt"};
#define MAX_COLS 128

static const char *const reading_fields[] = {"parameter", "value", "unit", "class",
					     "sample_id", "instrument", "screening"};

/* One JSON value as CSV text; arrays are joined with "; ". */
static int put_value(struct buf *b, const json_t *v)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return export_put_csv(b, json_string_value(v));
	case JSON_INTEGER:
		return buf_printf(b, "%lld", (long long)json_integer_value(v));
	case JSON_REAL:
		num_text(json_real_value(v), num);
		return buf_puts(b, num);
	case JSON_TRUE:
		return buf_puts(b, "true");
	case JSON_FALSE:
		return buf_puts(b, "false");
	case JSON_ARRAY: {
		struct buf j;
		size_t i;
		json_t *e;
		int rc = 0;
		buf_init(&j, 1 << 20);
		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e);
			if (i && (rc = buf_puts(&j, "; ")))
				break;
			if (s && (rc = buf_puts(&j, s)))
				break;
			if (!s && json_is_object(e) &&
			    (rc = buf_puts(&j, json_string_value(json_object_get(e, "text")) ?
					       json_string_value(json_object_get(e, "text")) : "")))
				break;
		}
		if (!rc)
			rc = export_put_csv(b, j.data);
		buf_free(&j);
		return rc;
	}
	default:
		return 0;
	}
}

/* A coordinate as the fewest digits that read back as the same double, as
 * every other number of the CSV (%.8f rounded away digits the store holds):
 * a script comparing places with the store's finds the same values. */
static int put_real(struct buf *b, double v)
{
	char num[NUM_TEXT_MAX];
	num_text(v, num);
	return buf_puts(b, num);
}

/* The header, and the list of item columns it names. */
static int header(const struct export_ctx *c, struct buf *out, const char **cols, size_t *ncols)
{
	size_t n = 0;
	int rc;
	for (size_t i = 0; i < ARRAY_LEN(item_fields); i++)
		cols[n++] = item_fields[i];
	size_t k;
	json_t *it;
	json_array_foreach(c->items, k, it) {
		const char *key;
		json_t *v;
		json_object_foreach(it, key, v) {
			int seen = strcmp(key, "notes") == 0;
			for (size_t j = 0; j < n && !seen; j++)
				seen = strcmp(cols[j], key) == 0;
			if (!seen && n < MAX_COLS)
				cols[n++] = key;
		}
	}
	*ncols = n;
	if ((rc = buf_puts(out, "\xEF\xBB\xBFrecord_type")))
		return rc;
	for (size_t j = 0; j < n; j++)
		if ((rc = buf_putc(out, ',')) || (rc = export_put_csv(out, cols[j])))
			return rc;
	if ((rc = buf_puts(out, ",captured_at_local,location_status,notes")))
		return rc;
	if (c->opt.gcj02 && (rc = buf_puts(out, ",lat_gcj02,lon_gcj02,gcj02_note")))
		return rc;
	for (size_t j = 0; j < ARRAY_LEN(reading_fields); j++)
		if ((rc = buf_printf(out, ",reading_%s", reading_fields[j])))
			return rc;
	return buf_puts(out, "\r\n");
}

/* The GCJ-02 columns of one position (empty when there is none). */
static int put_gcj(const struct export_ctx *c, struct buf *out, int located, double lat,
		   double lon)
{
	int rc = 0;
	if (!c->opt.gcj02)
		return 0;
	if (!located)
		return buf_puts(out, ",,,");
	double glat, glon;
	gcj02_from_wgs84(lat, lon, &glat, &glon);
	if ((rc = buf_putc(out, ',')) || (rc = put_real(out, glat)) || (rc = buf_putc(out, ',')) ||
	    (rc = put_real(out, glon)) || (rc = buf_putc(out, ',')))
		return rc;
	return export_put_csv(out, gcj02_applies(lat, lon)
					   ? "GCJ-02 for Amap, display only; the record is WGS-84"
					   : "outside China: GCJ-02 equals WGS-84");
}

static int item_row(const struct export_ctx *c, struct buf *out, const json_t *it,
		    const char **cols, size_t ncols)
{
	int rc;
	if ((rc = buf_puts(out, "item")))
		return rc;
	for (size_t j = 0; j < ncols; j++) {
		json_t *v = json_object_get(it, cols[j]);
		if ((rc = buf_putc(out, ',')))
			return rc;
		if (!v)
			continue;
		if ((strcmp(cols[j], "lat") == 0 || strcmp(cols[j], "lon") == 0) && json_is_number(v))
			rc = put_real(out, json_number_value(v));
		else
			rc = put_value(out, v);
		if (rc)
			return rc;
	}
	char local[40];
	int located = export_item_located(it);
	if ((rc = buf_putc(out, ',')))
		return rc;
	if (export_local_time(json_string_value(json_object_get(it, "captured_at")),
			      export_item_offset(it), local) == 0 &&
	    (rc = buf_puts(out, local)))
		return rc;
	if ((rc = buf_puts(out, located ? ",located" : ",NO LOCATION")) || (rc = buf_putc(out, ',')))
		return rc;
	json_t *notes = json_object_get(it, "notes");
	if (notes && (rc = put_value(out, notes)))
		return rc;
	if ((rc = put_gcj(c, out, located, json_number_value(json_object_get(it, "lat")),
			  json_number_value(json_object_get(it, "lon")))))
		return rc;
	for (size_t j = 0; j < ARRAY_LEN(reading_fields); j++)
		if ((rc = buf_putc(out, ',')))
			return rc;
	return buf_puts(out, "\r\n");
}

/* The instrument as the report shows it, not the stored JSON. */
static int put_instrument(struct buf *out, const json_t *inst)
{
	struct buf t;
	buf_init(&t, 1 << 20);
	int rc = export_instrument_text(inst, EXPORT_LANG_EN, &t);
	if (!rc && t.len)
		rc = export_put_csv(out, t.data);
	buf_free(&t);
	return rc;
}

/* A reading fills the shared columns it has (id, case, site, time, place)
 * and the reading_ columns. */
static int reading_row(const struct export_ctx *c, struct buf *out, const json_t *r,
		       const char **cols, size_t ncols)
{
	int rc;
	int located = json_is_number(json_object_get(r, "lat")) &&
		      json_is_number(json_object_get(r, "lon"));
	if ((rc = buf_puts(out, "reading")))
		return rc;
	for (size_t j = 0; j < ncols; j++) {
		const char *k = cols[j];
		json_t *v, *own = NULL;
		if (strcmp(k, "captured_at") == 0)
			v = json_object_get(r, "time");
		else if (strcmp(k, "case") == 0)
			v = json_object_get(c->case_row, "number");
		else if (strcmp(k, "datum") == 0)
			v = located ? (own = json_string("WGS-84")) : NULL;
		else if (strcmp(k, "kind") == 0)
			v = own = json_string("reading");
		else if (strcmp(k, "metadata_error") == 0)
			v = json_object_get(r, "error");
		else
			v = json_object_get(r, k);
		if ((rc = buf_putc(out, ',')) == 0 && v) {
			if ((strcmp(k, "lat") == 0 || strcmp(k, "lon") == 0) && json_is_number(v))
				rc = put_real(out, json_number_value(v));
			else
				rc = put_value(out, v);
		}
		json_decref(own);
		if (rc)
			return rc;
	}
	char local[40];
	if ((rc = buf_putc(out, ',')))
		return rc;
	if (export_local_time(json_string_value(json_object_get(r, "time")), 8 * 3600, local) == 0 &&
	    (rc = buf_puts(out, local)))
		return rc;
	if ((rc = buf_puts(out, located ? ",located," : ",NO LOCATION,")))
		return rc;
	if ((rc = put_gcj(c, out, located, json_number_value(json_object_get(r, "lat")),
			  json_number_value(json_object_get(r, "lon")))))
		return rc;
	for (size_t j = 0; j < ARRAY_LEN(reading_fields); j++) {
		if ((rc = buf_putc(out, ',')))
			return rc;
		if (strcmp(reading_fields[j], "screening") == 0)
			rc = export_put_csv(out, "rapid screening, to be confirmed by a laboratory");
		else if (strcmp(reading_fields[j], "instrument") == 0)
			rc = put_instrument(out, json_object_get(r, "instrument"));
		else {
			json_t *v = json_object_get(r, reading_fields[j]);
			rc = v ? put_value(out, v) : 0;
		}
		if (rc)
			return rc;
	}
	return buf_puts(out, "\r\n");
}

int export_csv(const struct export_ctx *c, struct buf *out, char *err, size_t errlen)
{
	const char *cols[MAX_COLS];
	size_t ncols = 0, i;
	json_t *it;
	int rc = header(c, out, cols, &ncols);
	json_array_foreach(c->items, i, it) {
		if (rc)
			break;
		rc = item_row(c, out, it, cols, ncols);
	}
	json_array_foreach(c->readings, i, it) {
		if (rc)
			break;
		rc = reading_row(c, out, it, cols, ncols);
	}
	if (rc)
		err_set(err, errlen, rc, "the CSV does not fit the output limit");
	return rc;
}
