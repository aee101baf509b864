/*
 * KML 2.2 for Google Earth and Ovital: a Placemark per located item with
 * its time, hash and a thumbnail in the balloon (a data URI, so the file
 * works offline), and the GPS track as a LineString. KML coordinates are
 * WGS-84 by definition; the document's description says so too.
 */
#include <math.h>
#include <stdio.h>

#include "export.h"
#include "timeutil.h"

#define PUT(s) do { if ((rc = buf_puts(out, (s)))) goto out; } while (0)
#define PUTX(s) do { if ((rc = export_put_xml(out, (s)))) goto out; } while (0)
#define PRINTF(...) do { if ((rc = buf_printf(out, __VA_ARGS__))) goto out; } while (0)

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The balloon: a small HTML fragment, built here and then escaped as
 * XML text, so nothing a card wrote can close the element early. */
static int balloon(const struct export_ctx *c, const json_t *it, size_t idx, struct buf *h)
{
	enum export_lang L = c->opt.lang;
	char local[40];
	int rc;
	const char *t = str(it, "captured_at");
	if ((rc = buf_puts(h, "<table>")))
		return rc;
	const char *rows[][2] = {
		{i18n_label(L, "file_name"), str(it, "original_name")},
		{i18n_label(L, "sha256"), str(it, "sha256")},
		{"UTC", t ? t : i18n_label(L, "no_time")},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		if ((rc = buf_puts(h, "<tr><th>")) || (rc = export_put_xml(h, rows[i][0])) ||
		    (rc = buf_puts(h, "</th><td>")) || (rc = export_put_xml(h, rows[i][1])) ||
		    (rc = buf_puts(h, "</td></tr>")))
			return rc;
	}
	if (t && export_local_time(t, export_item_offset(it), local) == 0 &&
	    ((rc = buf_printf(h, "<tr><th>%s</th><td>", i18n_label(L, "local"))) ||
	     (rc = export_put_xml(h, local)) || (rc = buf_puts(h, "</td></tr>"))))
		return rc;
	if ((rc = buf_printf(h, "<tr><th>%s</th><td>%.7f, %.7f (WGS-84, ", i18n_label(L, "location"),
			     json_number_value(json_object_get(it, "lat")),
			     json_number_value(json_object_get(it, "lon")))) ||
	    (rc = export_put_xml(h, str(it, "location_source"))) || (rc = buf_puts(h, ")</td></tr>")))
		return rc;
	if ((rc = buf_puts(h, "</table>")))
		return rc;
	if (idx < c->n_thumbs && c->thumbs[idx] &&
	    ((rc = buf_puts(h, "<br><img width=\"240\" src=\"")) || (rc = buf_puts(h, c->thumbs[idx])) ||
	     (rc = buf_puts(h, "\">"))))
		return rc;
	return 0;
}

int export_kml(const struct export_ctx *c, struct buf *out, char *err, size_t errlen)
{
	enum export_lang L = c->opt.lang;
	struct buf h;
	int rc = 0;
	buf_init(&h, EXPORT_OUT_MAX);
	PUT("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n<name>");
	PUTX(str(c->case_row, "number"));
	PUT("</name>\n<description>");
	/* a viewer reads a description as HTML, and a title is typed by
	 * anyone or comes in a pulled bundle: it is escaped as HTML, then
	 * the whole as XML text, as a balloon is */
	if ((rc = export_put_xml(&h, str(c->case_row, "title"))) || (rc = buf_puts(&h, " - ")) ||
	    (rc = export_put_xml(&h, i18n_label(L, "coord_note"))))
		goto out;
	PUTX(h.data);
	PUT("</description>\n"
	    "<Style id=\"item\"><IconStyle><color>ff1f3ad1</color><scale>1.0</scale></IconStyle>"
	    "</Style>\n"
	    "<Style id=\"track\"><LineStyle><color>ffd16f1f</color><width>3</width></LineStyle>"
	    "</Style>\n<Folder>\n<name>");
	PUTX(i18n_label(L, "evidence_list"));
	PUT("</name>\n");
	size_t i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		if (!export_item_located(it))
			continue;
		const char *t = str(it, "captured_at");
		PRINTF("<Placemark id=\"item-%lld\">\n<name>%zu ",
		       (long long)json_integer_value(json_object_get(it, "id")), i + 1);
		PUTX(str(it, "original_name"));
		PUT("</name>\n<description>");
		buf_reset(&h);
		if ((rc = balloon(c, it, i, &h)))
			goto out;
		PUTX(h.data);
		PUT("</description>\n");
		if (t) {
			PUT("<TimeStamp><when>");
			PUTX(t);
			PUT("</when></TimeStamp>\n");
		}
		PUT("<styleUrl>#item</styleUrl>\n<ExtendedData>");
		static const char *keys[] = {"sha256", "captured_at", "kind", "location_source",
					     "case"};
		for (size_t k = 0; k < ARRAY_LEN(keys); k++) {
			PRINTF("<Data name=\"%s\"><value>", keys[k]);
			PUTX(str(it, keys[k]));
			PUT("</value></Data>");
		}
		PUT("<Data name=\"datum\"><value>WGS-84</value></Data></ExtendedData>\n");
		json_t *alt = json_object_get(it, "alt");
		PRINTF("<Point><coordinates>%.8f,%.8f", json_number_value(json_object_get(it, "lon")),
		       json_number_value(json_object_get(it, "lat")));
		if (json_is_number(alt))
			PRINTF(",%.2f", json_number_value(alt));
		PUT("</coordinates></Point>\n</Placemark>\n");
	}
	PUT("</Folder>\n");
	for (size_t j = 0; j < c->tracks.n; j++) {
		const struct track *tr = &c->tracks.v[j];
		char a[32], b[32];
		if (tr->n < 2)
			continue;
		time_format_iso(tr->v[0].t, a);
		time_format_iso(tr->v[tr->n - 1].t, b);
		/* ids are unique in a document: "track" is the line style's */
		PRINTF("<Placemark id=\"track-%zu\">\n", j + 1);
		PUT("<name>GPS track / GPS 轨迹: ");
		PUTX(c->tracks.source[j]);
		PUT("</name>\n");
		PRINTF("<description>%s - %s, %zu fix%s, WGS-84</description>\n", a, b, tr->n,
		       tr->n == 1 ? "" : "es");
		PRINTF("<TimeSpan><begin>%s</begin><end>%s</end></TimeSpan>\n", a, b);
		PUT("<styleUrl>#track</styleUrl>\n<LineString><tessellate>1</tessellate><coordinates>\n");
		for (size_t k = 0; k < tr->n; k++) {
			const struct fix *f = &tr->v[k];
			if (isfinite(f->alt))
				PRINTF("%.8f,%.8f,%.2f\n", f->lon, f->lat, f->alt);
			else
				PRINTF("%.8f,%.8f\n", f->lon, f->lat);
		}
		PUT("</coordinates></LineString>\n</Placemark>\n");
	}
	PUT("</Document>\n</kml>\n");
out:
	buf_free(&h);
	if (rc)
		err_set(err, errlen, rc, "the KML does not fit the output limit");
	return rc;
}
