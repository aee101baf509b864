/*
 * An inline SVG map for the report. Over the few kilometres of one
 * inspection an equirectangular projection scaled by cos(latitude) is
 * true to well under a percent, which is all a sketch map needs, and it
 * keeps the drawing a pure function of the coordinates.
 */
#include "svgmap.h"

#include <math.h>
#include <stdio.h>

#define EARTH_M_PER_DEG 111320.0 /* metres per degree of latitude, rounded */
#define MARGIN 28.0              /* pixels kept clear around the drawing */

struct proj {
	double lat0, lon0; /* centre */
	double kx;         /* metres per degree of longitude here */
	double scale;      /* pixels per metre */
	double cx, cy;     /* pixel centre */
};

static void project(const struct proj *p, double lat, double lon, double *x, double *y)
{
	double dlon = lon - p->lon0;
	if (dlon > 180.0)
		dlon -= 360.0;
	else if (dlon < -180.0)
		dlon += 360.0;
	*x = p->cx + dlon * p->kx * p->scale;
	*y = p->cy - (lat - p->lat0) * EARTH_M_PER_DEG * p->scale;
}

double svgmap_nice_length(double max_m)
{
	if (!(max_m > 0) || !isfinite(max_m))
		return 1.0;
	double e = pow(10.0, floor(log10(max_m)));
	if (5 * e <= max_m)
		return 5 * e;
	if (2 * e <= max_m)
		return 2 * e;
	return e;
}

static int usable(double lat, double lon)
{
	return isfinite(lat) && isfinite(lon) && fabs(lat) <= 90.0 && fabs(lon) <= 180.0;
}

/* Grows a bounding box by one point. */
static void extend(double *b, double lat, double lon)
{
	if (lat < b[0]) b[0] = lat;
	if (lat > b[1]) b[1] = lat;
	if (lon < b[2]) b[2] = lon;
	if (lon > b[3]) b[3] = lon;
}

/* One track as a polyline, thinned to at most `most` points. */
static int draw_track(const struct proj *p, const struct track *t, size_t most, struct buf *out)
{
	size_t tn = t->n;
	if (tn < 2)
		return 0;
	size_t step = tn > most ? (tn + most - 1) / most : 1;
	int rc = buf_puts(out, "<polyline fill=\"none\" stroke=\"#1f6fd1\" stroke-width=\"2\" "
			       "stroke-linejoin=\"round\" points=\"");
	for (size_t i = 0; i < tn && !rc; i += step) {
		if (i + step >= tn)
			i = tn - 1; /* always end at the last fix */
		if (!usable(t->v[i].lat, t->v[i].lon))
			continue;
		double x, y;
		project(p, t->v[i].lat, t->v[i].lon, &x, &y);
		rc = buf_printf(out, "%.1f,%.1f ", x, y);
	}
	return rc ? rc : buf_puts(out, "\"/>");
}

int svgmap_render(const struct svgmap_point *pts, size_t n, const struct track *trk,
		  size_t n_trk, int width, int height, const char *caption,
		  const char *empty_text, struct buf *out)
{
	int rc = 0;
	double box[4] = {INFINITY, -INFINITY, INFINITY, -INFINITY};
	size_t used = 0;
	if (n > SVGMAP_MAX_POINTS)
		n = SVGMAP_MAX_POINTS;
	for (size_t i = 0; i < n; i++)
		if (usable(pts[i].lat, pts[i].lon)) {
			extend(box, pts[i].lat, pts[i].lon);
			used++;
		}
	if (!trk)
		n_trk = 0;
	for (size_t j = 0; j < n_trk; j++)
		for (size_t i = 0; i < trk[j].n; i++)
			if (usable(trk[j].v[i].lat, trk[j].v[i].lon)) {
				extend(box, trk[j].v[i].lat, trk[j].v[i].lon);
				used++;
			}
	int cap_h = caption ? 18 : 0;
	if ((rc = buf_printf(out,
			     "<svg class=\"map\" width=\"%d\" "
			     "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">"
			     "<rect x=\"0.5\" y=\"0.5\" width=\"%d\" height=\"%d\" fill=\"#f7f9fb\" "
			     "stroke=\"#555\"/>",
			     width, height + cap_h, width, height + cap_h, width - 1, height - 1)))
		goto out;
	if (used == 0) {
		rc = buf_printf(out,
				"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"14\" "
				"fill=\"#666\">",
				width / 2, height / 2);
		if (!rc)
			rc = buf_puts(out, empty_text ? empty_text : "");
		if (!rc)
			rc = buf_puts(out, "</text>");
		goto caption;
	}

	struct proj p;
	p.lat0 = (box[0] + box[1]) / 2.0;
	p.lon0 = (box[2] + box[3]) / 2.0;
	p.kx = EARTH_M_PER_DEG * cos(p.lat0 * M_PI / 180.0);
	if (p.kx < 1.0)
		p.kx = 1.0; /* at the poles a sketch need not be right */
	double span_x = (box[3] - box[2]) * p.kx, span_y = (box[1] - box[0]) * EARTH_M_PER_DEG;
	/* a single spot still gets a 200 m window, so the scale bar means something */
	if (span_x < 200.0)
		span_x = 200.0;
	if (span_y < 200.0)
		span_y = 200.0;
	double sx = (width - 2 * MARGIN) / span_x, sy = (height - 2 * MARGIN) / span_y;
	p.scale = sx < sy ? sx : sy;
	p.cx = width / 2.0;
	p.cy = height / 2.0;

	for (size_t j = 0; j < n_trk; j++)
		if ((rc = draw_track(&p, &trk[j], SVGMAP_MAX_TRACK / n_trk + 2, out)))
			goto out;
	for (size_t i = 0; i < n; i++) {
		if (!usable(pts[i].lat, pts[i].lon))
			continue;
		double x, y;
		project(&p, pts[i].lat, pts[i].lon, &x, &y);
		if ((rc = buf_printf(out,
				     "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#d13a1f\" "
				     "stroke=\"#fff\" stroke-width=\"1.5\"/>"
				     "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#222\">%d</text>",
				     x, y, x + 7, y - 5, pts[i].label)))
			goto out;
	}
	/* scale bar: at most a quarter of the width */
	double bar_m = svgmap_nice_length((width / 4.0) / p.scale);
	double bar_px = bar_m * p.scale;
	if ((rc = buf_printf(out,
			     "<g stroke=\"#222\" stroke-width=\"2\"><line x1=\"12\" y1=\"%d\" x2=\"%.1f\" "
			     "y2=\"%d\"/></g><text x=\"12\" y=\"%d\" font-size=\"11\" fill=\"#222\">"
			     "%g %s</text>",
			     height - 12, 12 + bar_px, height - 12, height - 18,
			     bar_m >= 1000 ? bar_m / 1000 : bar_m, bar_m >= 1000 ? "km" : "m")))
		goto out;
	/* north arrow */
	if ((rc = buf_printf(out,
			     "<path d=\"M%d 14 L%d 34 L%d 28 L%d 34 Z\" fill=\"#222\"/>"
			     "<text x=\"%d\" y=\"46\" font-size=\"11\" text-anchor=\"middle\">N</text>",
			     width - 20, width - 27, width - 20, width - 13, width - 20)))
		goto out;
caption:
	if (rc)
		goto out;
	if (caption) {
		if ((rc = buf_printf(out, "<text x=\"4\" y=\"%d\" font-size=\"11\" fill=\"#444\">",
				     height + 13)))
			goto out;
		if ((rc = buf_puts(out, caption)) || (rc = buf_puts(out, "</text>")))
			goto out;
	}
	rc = buf_puts(out, "</svg>");
out:
	return rc;
}
