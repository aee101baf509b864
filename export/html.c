/*
 * The evidence report: one self-contained HTML file (styles, thumbnails
 * and the map inline; nothing fetched) that is both the evidence list and
 * the inspection record the rules on electronic evidence ask for, and
 * that prints on A4 with every row kept whole on one page, ready for the
 * officers and the witness to sign.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "gcj02.h"
#include "svgmap.h"
#include "timeutil.h"

#define PUT(s) do { if ((rc = buf_puts(out, (s)))) goto out; } while (0)
#define PUTX(s) do { if ((rc = export_put_xml(out, (s)))) goto out; } while (0)
#define PRINTF(...) do { if ((rc = buf_printf(out, __VA_ARGS__))) goto out; } while (0)
#define LBL(k) i18n_label(c->opt.lang, (k))

/* Rows are kept whole on a page (break-inside: avoid) and the header row
 * repeats on each page; the thumbnail's height is capped so that several
 * rows fit a page and a row is never taller than one. A heading stays
 * with what follows it (break-after: avoid). The readings' screening
 * caveat is the first row of their table's header, so it is printed on
 * every page that holds readings: a page read alone never shows values
 * without the warning that they are only screening. A label of the
 * information tables wraps within its 30 mm, and a hash breaks anywhere
 * rather than run past the page edge when its line has no room: the
 * paper must carry every digit of a chain head or key fingerprint (a
 * label kept on one line took 75 mm in English and pushed the hashes
 * off an A4 page). */
static const char report_css[] =
	"@page{size:A4;margin:14mm 12mm 16mm 12mm;"
	"@bottom-center{content:counter(page) \" / \" counter(pages);font-size:8pt}}"
	"html{-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	"body{font-family:\"WenQuanYi Zen Hei\",\"Noto Sans CJK SC\",\"Source Han Sans SC\","
	"\"Microsoft YaHei\",\"SimSun\",sans-serif;font-size:9.5pt;color:#000;margin:0 auto;"
	"max-width:186mm;line-height:1.35}"
	"h1{font-size:16pt;text-align:center;margin:2mm 0 4mm}"
	"h2{font-size:12pt;border-bottom:1.5px solid #000;margin:5mm 0 2mm;"
	"break-after:avoid;page-break-after:avoid}"
	"table{border-collapse:collapse;width:100%}"
	"th,td{border:1px solid #555;padding:2px 4px;vertical-align:top;text-align:left}"
	"th{background:#eef1f4}"
	"thead{display:table-header-group}"
	"tr,.keep,.sig,figure{break-inside:avoid;page-break-inside:avoid}"
	"th.caveat{background:none;font-weight:bold}"
	"table.info th{width:30mm}"
	"table.items td.no{width:8mm;text-align:center;font-weight:bold}"
	"table.items td.th{width:46mm;text-align:center}"
	"table.items td.th img{max-width:44mm;max-height:34mm}"
	".fn{font-weight:bold;word-break:break-all}"
	".hash{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\",monospace;font-size:7.5pt;"
	"overflow-wrap:anywhere}"
	".hash .h{display:inline-block;width:33ch;word-break:break-all;vertical-align:top}"
	".noloc{color:#a00;font-weight:bold}"
	".warn{color:#a00;font-weight:bold;border:1px solid #a00;padding:2px 4px}"
	".muted{color:#555}"
	".sigs{display:flex;flex-wrap:wrap;gap:4mm}"
	".sig{border:1px solid #555;padding:3mm;width:84mm;box-sizing:border-box}"
	".sig .line{border-bottom:1px solid #000;height:10mm;margin:1mm 0 2mm}"
	"figure{margin:0}figcaption{font-size:8pt;color:#444}"
	"svg.map{max-width:100%;height:auto}"
	"@media screen{body{padding:8px}}";

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Names of a JSON array of strings, joined in the report's way. */
static int put_names(const struct export_ctx *c, struct buf *out, const json_t *arr)
{
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(arr, i, v) {
		if (i && (rc = buf_puts(out, c->opt.lang == EXPORT_LANG_ZH ? "、" : ", ")))
			return rc;
		if ((rc = export_put_xml(out, json_string_value(v))))
			return rc;
	}
	if (json_array_size(arr) == 0)
		rc = export_put_xml(out, LBL("not_recorded"));
	return rc;
}

static const char *kind_label(const struct export_ctx *c, const char *kind)
{
	static const char *kinds[] = {"photo", "video", "audio", "document", "data", "other"};
	char key[32];
	for (size_t i = 0; kind && i < ARRAY_LEN(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0) {
			snprintf(key, sizeof key, "kind_%s", kinds[i]);
			return LBL(key);
		}
	return kind ? kind : "";
}

static const char *source_label(const struct export_ctx *c, const char *src)
{
	static const char *srcs[] = {"exif", "xmp", "video", "srt", "track", "manual"};
	char key[32];
	for (size_t i = 0; src && i < ARRAY_LEN(srcs); i++)
		if (strcmp(src, srcs[i]) == 0) {
			snprintf(key, sizeof key, "src_%s", srcs[i]);
			return LBL(key);
		}
	return src ? src : "";
}

/* "2023-05-01 10:00:00 +08:00 (UTC 2023-05-01T02:00:00Z)" */
static int put_time(struct buf *out, double t, int offset_s)
{
	char iso[32], local[40];
	time_format_iso(t, iso);
	if (export_local_time(iso, offset_s, local))
		return buf_puts(out, iso);
	return buf_printf(out, "%s (UTC %s)", local, iso);
}

/* "<th>label</th><td>" ... "</td>" rows of the info tables. */
static int row_open(const struct export_ctx *c, struct buf *out, const char *key)
{
	int rc = buf_puts(out, "<tr><th>");
	if (!rc)
		rc = export_put_xml(out, LBL(key));
	if (!rc)
		rc = buf_puts(out, "</th><td>");
	return rc;
}

static int put_device(struct buf *out, const json_t *d)
{
	const char *parts[3] = {str(d, "make"), str(d, "model"), str(d, "serial")};
	int rc = 0, any = 0;
	for (int i = 0; i < 3 && !rc; i++) {
		if (!parts[i] || !*parts[i])
			continue;
		if (any)
			rc = buf_puts(out, i == 2 ? ", SN " : " ");
		else if (i == 2)
			rc = buf_puts(out, "SN ");
		if (!rc)
			rc = export_put_xml(out, parts[i]);
		any = 1;
	}
	return rc;
}

static int header_section(const struct export_ctx *c, struct buf *out, json_t *ops,
			  size_t located)
{
	int rc = 0;
	size_t i;
	json_t *v;
	PUT("<h1>");
	PUTX(LBL("report_title"));
	PUT("</h1>\n<table class=\"info\">");
	if ((rc = row_open(c, out, "case_number")))
		goto out;
	PUTX(str(c->case_row, "number"));
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "case_title")))
		goto out;
	PUTX(str(c->case_row, "title") ? str(c->case_row, "title") : "");
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "time_span")))
		goto out;
	if (c->has_span) {
		if ((rc = put_time(out, c->span_from, 8 * 3600)))
			goto out;
		PUT(" &#8212; ");
		if ((rc = put_time(out, c->span_to, 8 * 3600)))
			goto out;
	} else {
		PUTX(LBL("no_time"));
	}
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "place")))
		goto out;
	json_array_foreach(c->sites, i, v) {
		if (i)
			PUT("<br>");
		PUTX(str(v, "name"));
		PRINTF(" (%.6f, %.6f, WGS-84)", json_number_value(json_object_get(v, "lat")),
		       json_number_value(json_object_get(v, "lon")));
	}
	if (json_array_size(c->sites) == 0) {
		/* no sites recorded: the middle of what was photographed */
		double slat = 0, slon = 0;
		size_t n = 0;
		json_array_foreach(c->items, i, v) {
			if (export_item_located(v)) {
				slat += json_number_value(json_object_get(v, "lat"));
				slon += json_number_value(json_object_get(v, "lon"));
				n++;
			}
		}
		if (n)
			PRINTF("%.6f, %.6f (WGS-84)", slat / (double)n, slon / (double)n);
		else
			PUTX(LBL("not_recorded"));
	}
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "operators")) || (rc = put_names(c, out, ops)))
		goto out;
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "devices")))
		goto out;
	size_t shown = 0;
	json_array_foreach(c->devices, i, v) {
		const char *role = str(v, "role");
		if (!role || (strcmp(role, "drone") && strcmp(role, "camera")))
			continue;
		if (shown++)
			PUT("; ");
		if ((rc = put_device(out, v)))
			goto out;
	}
	if (!shown)
		PUTX(LBL("not_recorded"));
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "items_count")))
		goto out;
	PRINTF("%zu (%s %zu, %s %zu)", json_array_size(c->items), LBL("location"), located,
	       LBL("no_location"), json_array_size(c->items) - located);
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "generated_at")) || (rc = put_time(out, c->opt.now, 8 * 3600)))
		goto out;
	if (c->opt.actor) {
		PUT("; ");
		PUTX(LBL("generated_by"));
		PUT(": ");
		PUTX(c->opt.actor);
	}
	PUT("</td></tr></table>\n<p class=\"muted\">");
	PUTX(LBL("coord_note"));
	PUT("</p>\n");
out:
	return rc;
}

static int record_section(const struct export_ctx *c, struct buf *out, json_t *ops)
{
	int rc = 0;
	size_t i;
	json_t *v;
	PUT("<h2>");
	PUTX(LBL("record"));
	PUT("</h2>\n<table class=\"info\">");
	if ((rc = row_open(c, out, "collectors")) || (rc = put_names(c, out, ops)))
		goto out;
	if (json_array_size(ops) < 2) {
		PUT("<div class=\"warn\">");
		PUTX(LBL("too_few_operators"));
		PUT("</div>");
	}
	PUT("</td></tr>");
	const char *w = str(c->case_row, "witness"), *why = str(c->case_row, "no_witness_reason");
	if ((rc = row_open(c, out, w || !why ? "witness" : "no_witness_reason")))
		goto out;
	if (w)
		PUTX(w);
	else if (why)
		PUTX(why);
	else {
		PUT("<span class=\"warn\">");
		PUTX(LBL("not_recorded"));
		PUT("</span>");
	}
	PUT("</td></tr>");
	if ((rc = row_open(c, out, "medium")))
		goto out;
	json_t *kept = json_object_get(c->case_row, "medium_kept");
	if (json_is_boolean(kept))
		PUTX(LBL(json_is_true(kept) ? "medium_kept_yes" : "medium_kept_no"));
	else {
		PUT("<span class=\"warn\">");
		PUTX(LBL("not_recorded"));
		PUT("</span>");
	}
	if (str(c->case_row, "medium_note")) {
		PUT("; ");
		PUTX(str(c->case_row, "medium_note"));
	}
	/* the cards the files were read from, by filesystem UUID */
	json_t *media = json_object();
	json_array_foreach(c->items, i, v) {
		const char *u = str(v, "medium_uuid");
		if (u && json_object_size(media) < 32)
			json_object_set_new(media, u, json_string(str(v, "medium_label") ? str(v, "medium_label") : ""));
	}
	const char *k;
	json_t *lab;
	json_object_foreach(media, k, lab) {
		PUT("<br>UUID ");
		if ((rc = export_put_xml(out, k)))
			break;
		if (*json_string_value(lab)) {
			if ((rc = buf_puts(out, " (")) || (rc = export_put_xml(out, json_string_value(lab))) ||
			    (rc = buf_puts(out, ")")))
				break;
		}
	}
	json_decref(media);
	if (rc)
		goto out;
	PUT("</td></tr></table>\n<h2>");
	PUTX(LBL("equipment"));
	PRINTF("</h2>\n<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>",
	       LBL("role"), LBL("make"), LBL("model"), LBL("serial"));
	json_array_foreach(c->devices, i, v) {
		char key[32];
		snprintf(key, sizeof key, "role_%s", str(v, "role") ? str(v, "role") : "camera");
		PUT("<tr><td>");
		PUTX(LBL(key));
		PUT("</td><td>");
		PUTX(str(v, "make"));
		PUT("</td><td>");
		PUTX(str(v, "model"));
		PUT("</td><td>");
		PUTX(str(v, "serial"));
		PUT("</td></tr>");
	}
	if (json_array_size(c->devices) == 0) {
		PUT("<tr><td colspan=\"4\">");
		PUTX(LBL("not_recorded"));
		PUT("</td></tr>");
	}
	PUT("</tbody></table>\n");
out:
	return rc;
}

/* The place cell of one item. */
static int put_place(const struct export_ctx *c, struct buf *out, const json_t *it)
{
	int rc = 0;
	if (!export_item_located(it)) {
		PUT("<div class=\"noloc\">");
		PUTX(LBL("location"));
		PUT(": ");
		PUTX(LBL("no_location"));
		PUT("</div>");
		goto out;
	}
	double lat = json_number_value(json_object_get(it, "lat"));
	double lon = json_number_value(json_object_get(it, "lon"));
	json_t *alt = json_object_get(it, "alt"), *em = json_object_get(it, "location_error_m");
	PUT("<div>");
	PUTX(LBL("location"));
	PRINTF(": %.7f, %.7f (%s", lat, lon, LBL("datum_wgs84"));
	if (json_is_number(alt))
		PRINTF("; %s %.1f m", LBL("altitude"), json_number_value(alt));
	PRINTF("; %s: ", LBL("location_source"));
	PUTX(source_label(c, str(it, "location_source")));
	if (json_is_number(em))
		PRINTF("; %s %.0f m", LBL("error_m"), json_number_value(em));
	PUT(")</div>");
	if (c->opt.gcj02) {
		double glat, glon;
		gcj02_from_wgs84(lat, lon, &glat, &glon);
		PRINTF("<div class=\"muted\">%.7f, %.7f: ", glat, glon);
		PUTX(LBL("gcj02_label"));
		PUT("</div>");
	}
out:
	return rc;
}

/* " (why)" after "no thumbnail": the format none is made of, or the
 * reason, its fixed part in the report's language. */
static int put_thumb_note(const struct export_ctx *c, struct buf *out, const json_t *it,
			  size_t i)
{
	const char *note = c->thumb_note[i], *fmt = str(it, "format");
	const int zh = c->opt.lang == EXPORT_LANG_ZH;
	struct buf why;
	int rc = 0;
	buf_init(&why, 1 << 16);
	if (fmt && strcmp(note, fmt) == 0)
		rc = buf_puts(&why, note);
	else
		rc = i18n_thumb_why(c->opt.lang, note, &why);
	if (!rc && (rc = buf_puts(out, zh ? "（" : " (")) == 0 &&
	    (rc = export_put_xml(out, why.data)) == 0)
		rc = buf_puts(out, zh ? "）" : ")");
	buf_free(&why);
	return rc;
}

static int item_row(const struct export_ctx *c, struct buf *out, const json_t *it, size_t i)
{
	int rc = 0;
	char local[40];
	PUT("<tr data-sha256=\"");
	PUTX(str(it, "sha256"));
	PRINTF("\"><td class=\"no\">%zu</td><td class=\"th\">", i + 1);
	if (i < c->n_thumbs && c->thumbs[i]) {
		PUT("<img alt=\"");
		PUTX(LBL("thumbnail"));
		PUT("\" src=\"");
		PUT(c->thumbs[i]);
		PUT("\">");
	} else if (str(it, "kind") && strcmp(str(it, "kind"), "photo") == 0) {
		PUT("<span class=\"muted\">");
		PUTX(LBL("no_thumbnail"));
		if (i < c->n_thumbs && c->thumb_note[i] && (rc = put_thumb_note(c, out, it, i)))
			goto out;
		PUT("</span>");
	} else {
		PUT("&#8212;");
	}
	PUT("</td><td><div class=\"fn\">");
	PUTX(str(it, "original_name"));
	PUT("</div><div>");
	PUTX(kind_label(c, str(it, "kind")));
	PUT(" &#183; ");
	PUTX(str(it, "format") && *str(it, "format") ? str(it, "format") : "?");
	long long size = (long long)json_integer_value(json_object_get(it, "size"));
	PRINTF(" &#183; %lld %s", size, LBL(size == 1 ? "byte" : "bytes"));
	PUT("</div><div>");
	PUTX(LBL("capture_time"));
	PUT(": ");
	const char *t = str(it, "captured_at");
	if (t) {
		PUTX(t);
		if (export_local_time(t, export_item_offset(it), local) == 0) {
			PRINTF(" / %s ", LBL("local"));
			PUTX(local);
		}
		if (str(it, "time_source")) {
			PRINTF(" (%s: ", LBL("time_source"));
			PUTX(str(it, "time_source"));
			PUT(")");
		}
	} else {
		PUT("<span class=\"noloc\">");
		PUTX(LBL("no_time"));
		PUT("</span>");
	}
	PUT("</div>");
	if ((rc = put_place(c, out, it)))
		goto out;
	if (str(it, "make") || str(it, "model") || str(it, "serial")) {
		PUT("<div>");
		PUTX(LBL("device"));
		PUT(": ");
		if ((rc = put_device(out, it)))
			goto out;
		PUT("</div>");
	}
	json_t *ops = json_object_get(it, "operators");
	if (json_array_size(ops)) {
		PUT("<div>");
		PUTX(LBL("operators"));
		PUT(": ");
		if ((rc = put_names(c, out, ops)))
			goto out;
		PUT("</div>");
	}
	size_t k;
	json_t *n;
	json_array_foreach(json_object_get(it, "notes"), k, n) {
		PUT("<div>");
		PUTX(LBL("notes"));
		PUT(": ");
		PUTX(str(n, "text"));
		if (str(n, "author")) {
			PUT(" (");
			PUTX(str(n, "author"));
			PUT(")");
		}
		PUT("</div>");
	}
	if (str(it, "metadata_error")) {
		PUT("<div class=\"noloc\">");
		PUTX(LBL("metadata_error"));
		PUT(": ");
		PUTX(str(it, "metadata_error"));
		PUT("</div>");
	}
	PUT("<div class=\"hash\">SHA-256: <span class=\"h\">");
	PUTX(str(it, "sha256"));
	PUT("</span></div></td></tr>\n");
out:
	return rc;
}

static int items_section(const struct export_ctx *c, struct buf *out)
{
	int rc = 0;
	size_t i;
	json_t *it;
	PUT("<h2>");
	PUTX(LBL("evidence_list"));
	PRINTF("</h2>\n<table class=\"items\"><thead><tr><th>%s</th><th>%s</th><th>%s</th></tr>"
	       "</thead><tbody>\n",
	       LBL("seq"), LBL("thumbnail"), LBL("details"));
	json_array_foreach(c->items, i, it) {
		if ((rc = item_row(c, out, it, i)))
			goto out;
	}
	if (json_array_size(c->items) == 0) {
		PUT("<tr><td colspan=\"3\">");
		PUTX(LBL("no_items"));
		PUT("</td></tr>");
	}
	PUT("</tbody></table>\n");
out:
	return rc;
}

static int map_section(const struct export_ctx *c, struct buf *out)
{
	int rc = 0;
	size_t n = json_array_size(c->items), i, k = 0;
	struct svgmap_point *pts = xcalloc(n ? n : 1, sizeof *pts);
	json_t *it;
	struct buf cap, empty;
	buf_init(&cap, 4096);
	buf_init(&empty, 4096);
	json_array_foreach(c->items, i, it) {
		if (!export_item_located(it))
			continue;
		pts[k].lat = json_number_value(json_object_get(it, "lat"));
		pts[k].lon = json_number_value(json_object_get(it, "lon"));
		pts[k].label = (int)(i + 1);
		k++;
	}
	if ((rc = export_put_xml(&cap, LBL("map_caption"))) ||
	    (rc = export_put_xml(&empty, LBL("map_empty"))))
		goto out;
	PUT("<div class=\"keep\"><h2>");
	PUTX(LBL("map"));
	PUT("</h2><figure>");
	if ((rc = svgmap_render(pts, k, c->tracks.v, c->tracks.n, 680, 420, cap.data, empty.data,
				out)))
		goto out;
	PUT("</figure></div>\n");
out:
	buf_free(&cap);
	buf_free(&empty);
	free(pts);
	return rc;
}

static int readings_section(const struct export_ctx *c, struct buf *out)
{
	int rc = 0;
	size_t i;
	json_t *r;
	struct buf inst;
	if (json_array_size(c->readings) == 0)
		return 0;
	buf_init(&inst, 1 << 20);
	PUT("<section class=\"readings\"><h2>");
	PUTX(LBL("readings"));
	PUT("</h2>\n<table class=\"readings\"><thead><tr><th colspan=\"8\" class=\"warn caveat\">");
	PUTX(LBL("readings_note"));
	PRINTF("</th></tr>\n<tr><th>%s</th><th>%s</th><th>%s</th>"
	       "<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
	       LBL("time"), LBL("parameter"), LBL("value"), LBL("unit"), LBL("class"),
	       LBL("sample"), LBL("instrument"), LBL("location"));
	json_array_foreach(c->readings, i, r) {
		char local[40];
		PUT("<tr><td>");
		if (export_local_time(str(r, "time"), 8 * 3600, local) == 0)
			PUTX(local);
		PUT("</td><td>");
		PUTX(str(r, "parameter"));
		PUT("</td><td>");
		if (json_is_number(json_object_get(r, "value"))) {
			char num[NUM_TEXT_MAX];
			num_text(json_number_value(json_object_get(r, "value")), num);
			PUT(num);
		} else if (str(r, "error")) {
			/* a line kept with its problem: said where its value would be */
			PUT("<span class=\"warn\">");
			PUTX(LBL("reading_error"));
			PUT(": ");
			PUTX(str(r, "error"));
			PUT("</span>");
		}
		PUT("</td><td>");
		PUTX(str(r, "unit"));
		PUT("</td><td>");
		PUTX(str(r, "class"));
		PUT("</td><td>");
		PUTX(str(r, "sample_id"));
		PUT("</td><td>");
		buf_reset(&inst);
		if ((rc = export_instrument_text(json_object_get(r, "instrument"), c->opt.lang,
						 &inst)))
			goto out;
		if (inst.len)
			PUTX(inst.data);
		PUT("</td><td>");
		if (json_is_number(json_object_get(r, "lat")) && json_is_number(json_object_get(r, "lon")))
			PRINTF("%.6f, %.6f (WGS-84)", json_number_value(json_object_get(r, "lat")),
			       json_number_value(json_object_get(r, "lon")));
		else if (str(r, "site"))
			PUTX(str(r, "site"));
		PUT("</td></tr>\n");
	}
	PUT("</tbody></table></section>\n");
out:
	buf_free(&inst);
	return rc;
}

/*
 * The keys behind the evidence in the report. A pulled item was signed by
 * the field device that sent its bundle, so the keys that signed the
 * case's bundles are named, each with its device, for the office to
 * compare with the keys it trusts; this store's own key stands only for
 * items captured here (and for a case nothing was pulled into), since it
 * signed none of what came in bundles.
 */
static int key_rows(const struct export_ctx *c, struct buf *out)
{
	int rc = 0, pulled = 0, local = 0;
	size_t i, nsig = json_array_size(c->signers);
	json_t *it;
	json_array_foreach(c->items, i, it) {
		const char *origin = str(it, "origin");
		if (origin && strcmp(origin, "pulled") == 0)
			pulled = 1;
		else
			local = 1;
	}
	if (nsig || pulled) {
		if ((rc = row_open(c, out, "signer_keys")))
			goto out;
		if (!nsig)
			PUTX(LBL("no_signer"));
		json_array_foreach(c->signers, i, it) {
			const char *sha = str(it, "sha256"), *by = str(it, "replaced_by");
			PUT(i ? "<br>" : "");
			PUTX(LBL("key_id"));
			PUT(" ");
			PUTX(str(it, "key_id") ? str(it, "key_id") : "?");
			PUT(" (");
			PUTX(LBL("key_device"));
			PUT(" ");
			PUTX(str(it, "device_id") ? str(it, "device_id") : "?");
			PUT("; ");
			PUTX(LBL("key_bundles"));
			PRINTF(": %lld", (long long)json_integer_value(json_object_get(it, "bundles")));
			if (by) {
				PUT("; ");
				PUTX(LBL("key_replaced"));
				PUT(" ");
				PUTX(by);
			}
			PUT(")<br>");
			if (sha) {
				PRINTF("<span class=\"hash\">SHA-256 %s</span>", sha);
			} else {
				PUT("<span class=\"warn\">");
				PUTX(LBL("key_not_held"));
				PUT("</span>");
			}
		}
		PUT("</td></tr>");
	}
	if (local || !(nsig || pulled)) {
		if ((rc = row_open(c, out, "store_key")))
			goto out;
		if (c->has_key) {
			PRINTF("%s %s<br><span class=\"hash\">SHA-256 %s</span>", LBL("key_id"),
			       c->key_id, c->key_sha256);
		} else {
			PUTX(LBL("no_key"));
		}
		PUT("</td></tr>");
	}
out:
	return rc;
}

static int custody_section(const struct export_ctx *c, struct buf *out)
{
	int rc = 0;
	PUT("<div class=\"keep\"><h2>");
	PUTX(LBL("custody"));
	PUT("</h2>\n<table class=\"info\">");
	if ((rc = row_open(c, out, "chain_head")))
		goto out;
	PRINTF("<span class=\"hash\">%s</span> (%s %lld)</td></tr>",
	       c->chain_head[0] ? c->chain_head : "-", LBL("chain_events"), (long long)c->chain_seq);
	if ((rc = key_rows(c, out)))
		goto out;
	/* a gap in what reached this store: said where the record is */
	size_t i;
	json_t *g;
	json_array_foreach(c->missing, i, g) {
		if (!i && (rc = row_open(c, out, "bundles_missing")))
			goto out;
		PUT(i ? "<br>" : "");
		PUT("<span class=\"hash\">");
		PUTX(str(g, "bundle_id"));
		PUT("</span> (");
		if (str(g, "refused_because")) {
			/* on the target, but refused by a pull */
			PUTX(LBL("refused_on"));
			PUT(": ");
			PUTX(str(g, "target"));
			PUT(": ");
			PUTX(str(g, "refused_because"));
			PUT("; ");
		} else {
			PUTX(LBL("missing_device"));
			PUT(" ");
			PUTX(str(g, "device_id"));
			PUT("; ");
			PUTX(LBL("missing_named_by"));
			PUT(" ");
			PUTX(str(g, "named_by"));
			PUT("; ");
			PUTX(LBL("missing_not_on"));
			PUT(": ");
			PUTX(str(g, "target"));
			PUT(", ");
		}
		char local[40];
		const char *when = str(g, "noticed_at");
		PUTX(when && export_local_time(when, 8 * 3600, local) == 0 ? local : when);
		PUT(")");
	}
	if (json_array_size(c->missing)) {
		PUT("<br>");
		PUTX(LBL("missing_note"));
		PUT("</td></tr>");
	}
	PUT("</table></div>\n");
out:
	return rc;
}

static int sign_block(const struct export_ctx *c, struct buf *out, const char *role,
		      const char *name)
{
	int rc = 0;
	PUT("<div class=\"sig\"><div>");
	PUTX(LBL(role));
	PUT(": ");
	PUTX(name ? name : "");
	PUT("</div><div class=\"line\"></div><div>");
	PUTX(LBL("signature"));
	PUT(" / ");
	PUTX(LBL("date"));
	PUT("</div></div>");
out:
	return rc;
}

static int signature_section(const struct export_ctx *c, struct buf *out, json_t *ops)
{
	int rc = 0;
	size_t i;
	json_t *v;
	PUT("<div class=\"keep\"><h2>");
	PUTX(LBL("signatures"));
	PUT("</h2><div class=\"sigs\">");
	json_array_foreach(ops, i, v) {
		if ((rc = sign_block(c, out, "officer", json_string_value(v))))
			goto out;
	}
	/* always room for a second officer and for the witness */
	for (i = json_array_size(ops); i < 2; i++)
		if ((rc = sign_block(c, out, "officer", NULL)))
			goto out;
	if (str(c->case_row, "witness") || !str(c->case_row, "no_witness_reason"))
		rc = sign_block(c, out, "witness", str(c->case_row, "witness"));
	if (rc)
		goto out;
	PUT("</div></div>\n");
out:
	return rc;
}

int export_html(const struct export_ctx *c, struct buf *out, char *err, size_t errlen)
{
	int rc = 0;
	json_t *ops = export_operators(c);
	size_t located = 0, i;
	json_t *it;
	json_array_foreach(c->items, i, it) {
		located += export_item_located(it) != 0;
	}
	PRINTF("<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"generator\" content=\"evcap\">\n<title>",
	       c->opt.lang == EXPORT_LANG_ZH ? "zh-CN" : "en");
	PUTX(str(c->case_row, "number"));
	PUT(" ");
	PUTX(LBL("report_title"));
	PUT("</title>\n<style>");
	PUT(report_css);
	PUT("</style>\n</head>\n<body>\n");
	if ((rc = header_section(c, out, ops, located)) || (rc = record_section(c, out, ops)) ||
	    (rc = items_section(c, out)) || (rc = map_section(c, out)) ||
	    (rc = readings_section(c, out)) || (rc = custody_section(c, out)) ||
	    (rc = signature_section(c, out, ops)))
		goto out;
	PUT("</body>\n</html>\n");
out:
	json_decref(ops);
	if (rc)
		err_set(err, errlen, rc, "the HTML report does not fit the output limit");
	return rc;
}
