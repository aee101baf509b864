/*
 * GPX 1.1: the photo points as waypoints (time, name, hash in the
 * description) and the GPS track, split into segments where the receiver
 * was silent for long, so no straight line is drawn across a gap. GPX is
 * WGS-84 by definition; the metadata says so as well.
 */
#include <math.h>
#include <stdio.h>

#include "export.h"
#include "timeutil.h"

#define PUT(s) do { if ((rc = buf_puts(out, (s)))) goto out; } while (0)
#define PUTX(s) do { if ((rc = export_put_xml(out, (s)))) goto out; } while (0)
#define PRINTF(...) do { if ((rc = buf_printf(out, __VA_ARGS__))) goto out; } while (0)

/* A silence longer than this starts a new track segment. */
#define GPX_SEGMENT_GAP_S 120.0

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int export_gpx(const struct export_ctx *c, struct buf *out, char *err, size_t errlen)
{
	int rc = 0;
	char now[32];
	time_format_iso(c->opt.now, now);
	PUT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<gpx version=\"1.1\" creator=\"evcap\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
	    "<metadata><name>");
	PUTX(str(c->case_row, "number"));
	PUT("</name><desc>");
	PUTX(str(c->case_row, "title"));
	PUT(" - WGS-84</desc>");
	PRINTF("<time>%s</time></metadata>\n", now);
	size_t i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		if (!export_item_located(it))
			continue;
		json_t *alt = json_object_get(it, "alt");
		const char *t = str(it, "captured_at");
		PRINTF("<wpt lat=\"%.8f\" lon=\"%.8f\">", json_number_value(json_object_get(it, "lat")),
		       json_number_value(json_object_get(it, "lon")));
		if (json_is_number(alt))
			PRINTF("<ele>%.2f</ele>", json_number_value(alt));
		if (t) {
			PUT("<time>");
			PUTX(t);
			PUT("</time>");
		}
		PRINTF("<name>%zu ", i + 1);
		PUTX(str(it, "original_name"));
		PUT("</name><desc>sha256 ");
		PUTX(str(it, "sha256"));
		PUT("</desc><src>");
		PUTX(str(it, "location_source"));
		PUT("</src><type>");
		PUTX(str(it, "kind"));
		PUT("</type></wpt>\n");
	}
	for (size_t j = 0; j < c->tracks.n; j++) {
		const struct track *tr = &c->tracks.v[j];
		if (tr->n == 0)
			continue;
		PUT("<trk><name>GPS track: ");
		PUTX(c->tracks.source[j]);
		PUT("</name><trkseg>\n");
		for (size_t k = 0; k < tr->n; k++) {
			const struct fix *f = &tr->v[k];
			char t[32];
			if (k > 0 && f->t - tr->v[k - 1].t > GPX_SEGMENT_GAP_S)
				PUT("</trkseg><trkseg>\n");
			time_format_iso(f->t, t);
			PRINTF("<trkpt lat=\"%.8f\" lon=\"%.8f\">", f->lat, f->lon);
			if (isfinite(f->alt))
				PRINTF("<ele>%.2f</ele>", f->alt);
			PRINTF("<time>%s</time><fix>%s</fix>", t, f->mode >= 3 ? "3d" : "2d");
			if (f->sats >= 0)
				PRINTF("<sat>%d</sat>", f->sats);
			PUT("</trkpt>\n");
		}
		PUT("</trkseg></trk>\n");
	}
	PUT("</gpx>\n");
out:
	if (rc)
		err_set(err, errlen, rc, "the GPX does not fit the output limit");
	return rc;
}
