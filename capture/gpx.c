/*
 * The GPX reader. libxml2's streaming reader keeps memory flat however long
 * the track; we walk its node events with a small state machine instead of
 * building a tree. A DOCTYPE declaring entities is refused before any
 * element is read, so no entity can be expanded, and nothing is fetched.
 */
#include "gpx.h"

#include <libxml/xmlreader.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dynlib.h"
#include "ingest.h"
#include "timeutil.h"

/*
 * libxml2 is opened by the first gpx_parse (dynlib.h); calls go through XL(),
 * to every function listed once in XML_FNS. xmlFree is a variable holding
 * libxml2's deallocator, so its slot points at it and calls go through it.
 */
#ifndef EVCAP_SONAME_XML2
#define EVCAP_SONAME_XML2 "libxml2.so.2"
#endif
#define XML_FNS(X)                                                                           \
	X(TextReaderLocatorLineNumber) X(NodeListGetString) X(TextReaderDepth) X(GetLineNo)   \
	X(TextReaderGetParserLineNumber) X(TextReaderNodeType) X(TextReaderCurrentNode)       \
	X(TextReaderCurrentDoc) X(TextReaderIsEmptyElement) X(TextReaderConstValue)           \
	X(ReaderForMemory) X(TextReaderSetErrorHandler) X(TextReaderRead) X(FreeTextReader)   \
	X(FreeDoc) X(Free)
#define XL_PTR(f) DYNLIB_PTR(xml, f)
static struct {
	XML_FNS(XL_PTR)
} xl;
#define XL_SYM(f) DYNLIB_SYM(xl, xml, f)
static const struct dynlib_sym xl_syms[] = {XML_FNS(XL_SYM)};
static struct dynlib xl_lib = DYNLIB_INIT(EVCAP_SONAME_XML2, "to read GPX tracks", xl_syms);
#define XL(f) xl.f

#define GPX_VAL_MAX 64 /* longest child text we keep (a time, a number) */

enum gpx_child { GPX_C_NONE, GPX_C_TIME, GPX_C_ELE, GPX_C_FIX, GPX_C_SAT, GPX_C_HDOP, GPX_C_OTHER };

struct gpx_state {
	const char *name;
	struct track *out;
	struct track_report *rep;
	char *ns;            /* the root's namespace URI (malloc'd) or NULL */
	xmlDocPtr doc;       /* taken from the reader to inspect the DTD: ours to free */
	int seen_root;
	int in_point;
	int point_depth;
	int point_line;
	int point_bad;       /* a value of this point was unreadable */
	double lat, lon;
	enum gpx_child child;
	int child_depth;
	char val[GPX_VAL_MAX + 1];
	size_t val_len;
	int val_long;
	int has_time, has_ele, fix_none, sats, fix_mode;
	double t, ele, hdop;
	char err_msg[256];
	int err_line;
	int warned_zone;
};

/* libxml2 reports errors here instead of stderr; the first one is kept. */
static void gpx_on_error(void *arg, const char *msg, xmlParserSeverities sev,
			 xmlTextReaderLocatorPtr loc)
{
	struct gpx_state *st = arg;
	if (sev != XML_PARSER_SEVERITY_ERROR && sev != XML_PARSER_SEVERITY_VALIDITY_ERROR)
		return;
	if (st->err_msg[0])
		return;
	if (!msg)
		msg = "XML error";
	size_t l = strlen(msg);
	while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' '))
		l--;
	/* libxml2's message may quote the file */
	ingest_display_text(msg, l, st->err_msg, sizeof st->err_msg);
	st->err_line = loc ? XL(TextReaderLocatorLineNumber)(loc) : 0;
}

/* A decimal number with optional surrounding blanks; no locale. */
static int gpx_num(const char *s, double *out)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	int neg = 0, nd = 0;
	double v = 0, scale = 1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	for (; *s >= '0' && *s <= '9' && nd < 30; s++, nd++)
		v = v * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9' && nd < 30; s++, nd++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s || nd == 0 || nd >= 30)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

static void gpx_bad(struct gpx_state *st, int line, const char *what)
{
	st->rep->bad++;
	track_report_msg(st->rep, "%s:%d: %s", st->name, line, what);
}

/* 1 if the element is in the root's namespace. Read from the node: the
 * reader's xmlTextReaderConstNamespaceUri looks the URI up in its
 * dictionary (hashing it) on every call, a few times per point. */
static int gpx_in_ns(const struct gpx_state *st, xmlNodePtr node)
{
	const xmlChar *ns = node && node->ns ? node->ns->href : NULL;
	if (!st->ns)
		return ns == NULL;
	return ns && strcmp((const char *)ns, st->ns) == 0;
}

/* The value of the attribute `name` (no namespace) of an element, or NULL.
 * An attribute that is one text node is read in place; any other (*tmp
 * gets the copy, which the caller frees with xmlFree) is joined by libxml2,
 * as xmlTextReaderGetAttribute would, which copies every value. */
static const char *gpx_attr(xmlNodePtr node, const char *name, xmlChar **tmp)
{
	const char *v = NULL;
	*tmp = NULL;
	for (xmlAttrPtr a = node ? node->properties : NULL; a; a = a->next) {
		if (a->ns || strcmp((const char *)a->name, name) != 0)
			continue;
		xmlNodePtr c = a->children;
		if (c && !c->next && c->type == XML_TEXT_NODE && c->content)
			v = (const char *)c->content;
		else
			v = (const char *)(*tmp = XL(NodeListGetString)(node->doc, c, 1));
		break;
	}
	return v;
}

static void gpx_point_start(struct gpx_state *st, xmlTextReaderPtr r, xmlNodePtr node)
{
	st->in_point = 1;
	st->point_depth = XL(TextReaderDepth)(r);
	st->point_line = node ? (int)XL(GetLineNo)(node) : XL(TextReaderGetParserLineNumber)(r);
	st->point_bad = 0;
	st->has_time = st->has_ele = st->fix_none = 0;
	st->sats = -1;
	st->fix_mode = 0;
	st->hdop = NAN;
	st->child = GPX_C_NONE;
	st->rep->lines++;
	xmlChar *la_tmp, *lo_tmp;
	const char *la = gpx_attr(node, "lat", &la_tmp);
	const char *lo = gpx_attr(node, "lon", &lo_tmp);
	if (!la || !lo || gpx_num(la, &st->lat) != 0 || gpx_num(lo, &st->lon) != 0 ||
	    fabs(st->lat) > 90 || fabs(st->lon) > 180) {
		gpx_bad(st, st->point_line, "point without a valid lat and lon");
		st->point_bad = 1;
	}
	(*XL(Free))(la_tmp);
	(*XL(Free))(lo_tmp);
}

static void gpx_point_end(struct gpx_state *st)
{
	st->in_point = 0;
	if (st->point_bad)
		return;
	if (!st->has_time) {
		st->rep->no_time++;
		return;
	}
	if (st->fix_none) {
		st->rep->untrusted++;
		return;
	}
	if (st->rep->fixes >= TRACK_MAX_POINTS) {
		if (!st->rep->capped)
			track_report_msg(st->rep, "%s:%d: more than %d points; the rest are ignored",
					 st->name, st->point_line, TRACK_MAX_POINTS);
		st->rep->capped = 1;
		return;
	}
	struct fix f = {
		.t = st->t,
		.lat = st->lat,
		.lon = st->lon,
		.alt = st->has_ele ? st->ele : NAN,
		.mode = st->fix_mode ? st->fix_mode : (st->has_ele ? 3 : 2),
		.eph = isfinite(st->hdop) ? st->hdop * TRACK_UERE : NAN,
		.sats = st->sats,
	};
	track_push(st->out, &f);
	st->rep->fixes++;
}

/* A child element of a point has ended: interpret the text gathered. */
static void gpx_child_end(struct gpx_state *st, int line)
{
	char msg[160];
	enum gpx_child c = st->child;
	st->child = GPX_C_NONE;
	if (c == GPX_C_OTHER || c == GPX_C_NONE || st->point_bad)
		return;
	if (st->val_long) {
		gpx_bad(st, line, "value longer than 64 bytes");
		st->point_bad = 1;
		return;
	}
	/* trim */
	char *v = st->val;
	while (*v == ' ' || *v == '\n' || *v == '\r' || *v == '\t')
		v++;
	size_t l = strlen(v);
	while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\n' || v[l - 1] == '\r' || v[l - 1] == '\t'))
		v[--l] = '\0';
	/* the value as messages quote it: a line break or a tab inside it
	 * (XML allows them) as \xNN, never a line of its own */
	char shown[41];
	ingest_display_text(v, l, shown, sizeof shown);
	double x;
	switch (c) {
	case GPX_C_TIME: {
		char tmp[GPX_VAL_MAX + 2];
		/* GPX times are UTC by the schema; some writers leave out the Z, and
		 * RFC 3339 allows it in lower case. */
		const char *tail = v + (l > 10 ? 10 : l);
		int zoneless = l > 0 && v[l - 1] != 'Z' && v[l - 1] != 'z' && !strchr(tail, '+') &&
			       !strchr(tail, '-');
		size_t k = l;
		memcpy(tmp, v, k);
		if (zoneless)
			tmp[k++] = 'Z';
		tmp[k] = '\0';
		/* A point has one time: of two (a merge or a hand edit left
		 * both), neither can be taken as the point's. */
		if (st->has_time) {
			snprintf(msg, sizeof msg, "point gives two times (the second is '%s'); "
				 "keep one <time> in it to import the point", shown);
			gpx_bad(st, line, msg);
			st->point_bad = 1;
			break;
		}
		if (time_parse_iso(tmp, &st->t) != 0) {
			int y = l > 4 && v[4] == '-' ? digits_value(v, 4) : -1;
			if (y >= 0 && (y < TIME_YEAR_MIN || y > TIME_YEAR_MAX))
				snprintf(msg, sizeof msg, "time '%s' is in the year %d, outside "
					 "the years evcap accepts (%d to %d)", shown, y, TIME_YEAR_MIN,
					 TIME_YEAR_MAX);
			else
				snprintf(msg, sizeof msg, "time '%s' is not ISO 8601", shown);
			gpx_bad(st, line, msg);
			st->point_bad = 1;
			break;
		}
		st->has_time = 1;
		if (zoneless && !st->warned_zone) {
			st->warned_zone = 1;
			track_report_msg(st->rep, "%s:%d: time '%s' has no zone; read as UTC as "
					 "GPX requires", st->name, line, shown);
		}
		break;
	}
	case GPX_C_ELE:
		if (l == 0)
			break; /* <ele></ele>: no elevation */
		if (gpx_num(v, &x) != 0 || fabs(x) > 1e8) {
			snprintf(msg, sizeof msg, "elevation '%s' is not a number", shown);
			gpx_bad(st, line, msg);
			st->point_bad = 1;
		} else {
			st->has_ele = 1;
			st->ele = x;
		}
		break;
	case GPX_C_FIX:
		if (strcmp(v, "none") == 0)
			st->fix_none = 1;
		else if (strcmp(v, "2d") == 0)
			st->fix_mode = 2;
		else if (strcmp(v, "3d") == 0 || strcmp(v, "dgps") == 0 || strcmp(v, "pps") == 0)
			st->fix_mode = 3;
		break;
	case GPX_C_SAT:
		if (gpx_num(v, &x) == 0 && x >= 0 && x < 1000)
			st->sats = (int)x;
		break;
	case GPX_C_HDOP:
		if (gpx_num(v, &x) == 0 && x > 0 && x < 100)
			st->hdop = x;
		break;
	default:
		break;
	}
}

static enum gpx_child gpx_child_kind(const char *n)
{
	if (strcmp(n, "time") == 0)
		return GPX_C_TIME;
	if (strcmp(n, "ele") == 0)
		return GPX_C_ELE;
	if (strcmp(n, "fix") == 0)
		return GPX_C_FIX;
	if (strcmp(n, "sat") == 0)
		return GPX_C_SAT;
	if (strcmp(n, "hdop") == 0)
		return GPX_C_HDOP;
	return GPX_C_OTHER;
}

/* Handles one reader event; 0 to go on, or a negative code (err filled). */
static int gpx_event(struct gpx_state *st, xmlTextReaderPtr r, char *err, size_t errlen)
{
	int type = XL(TextReaderNodeType)(r);
	int depth = XL(TextReaderDepth)(r);
	int line = XL(TextReaderGetParserLineNumber)(r);
	/* Names and namespaces are read from the node, and only for elements:
	 * the reader's accessors look each string up in its dictionary, and
	 * for a text node even the name "#text". */
	xmlNodePtr node = type == XML_READER_TYPE_ELEMENT ? XL(TextReaderCurrentNode)(r) : NULL;
	const char *local = node && node->name ? (const char *)node->name : "";

	switch (type) {
	case XML_READER_TYPE_DOCUMENT_TYPE: {
		/* Asking for the document makes it ours: the reader will not
		 * free it any more (freed in gpx_parse). */
		if (!st->doc)
			st->doc = XL(TextReaderCurrentDoc)(r);
		xmlDocPtr doc = st->doc;
		if (doc && doc->intSubset && (doc->intSubset->entities || doc->intSubset->pentities))
			return err_set(err, errlen, EV_EINVAL,
				       "%s:%d: the file declares XML entities; GPX needs none, "
				       "and a file that does is refused", st->name, line);
		return 0;
	}
	case XML_READER_TYPE_ENTITY_REFERENCE:
		return err_set(err, errlen, EV_EINVAL, "%s:%d: entity reference in a GPX file",
			       st->name, line);
	case XML_READER_TYPE_ELEMENT:
		if (!st->seen_root) {
			st->seen_root = 1;
			if (strcmp(local, "gpx") != 0) {
				char shown[41];
				return err_set(err, errlen, EV_EINVAL,
					       "%s:%d: not a GPX file (the root element is <%s>)",
					       st->name, line,
					       ingest_display_text(local, strlen(local), shown,
								   sizeof shown));
			}
			st->ns = node && node->ns && node->ns->href
					 ? xstrdup((const char *)node->ns->href)
					 : NULL;
			return 0;
		}
		if (!st->in_point) {
			if (gpx_in_ns(st, node) &&
			    (strcmp(local, "trkpt") == 0 || strcmp(local, "rtept") == 0 ||
			     strcmp(local, "wpt") == 0)) {
				gpx_point_start(st, r, node);
				if (XL(TextReaderIsEmptyElement)(r))
					gpx_point_end(st);
			}
			return 0;
		}
		if (st->child == GPX_C_NONE && depth == st->point_depth + 1) {
			st->child = gpx_in_ns(st, node) ? gpx_child_kind(local) : GPX_C_OTHER;
			st->child_depth = depth;
			st->val_len = 0;
			st->val[0] = '\0';
			st->val_long = 0;
			if (XL(TextReaderIsEmptyElement)(r))
				gpx_child_end(st, st->point_line);
		}
		return 0;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		if (st->in_point && st->child != GPX_C_NONE && st->child != GPX_C_OTHER &&
		    depth == st->child_depth + 1) {
			const char *v = (const char *)XL(TextReaderConstValue)(r);
			size_t l = v ? strlen(v) : 0;
			if (st->val_len + l > GPX_VAL_MAX) {
				st->val_long = 1;
			} else if (l) {
				memcpy(st->val + st->val_len, v, l);
				st->val_len += l;
				st->val[st->val_len] = '\0';
			}
		}
		return 0;
	case XML_READER_TYPE_END_ELEMENT:
		if (st->in_point && st->child != GPX_C_NONE && depth == st->child_depth)
			gpx_child_end(st, st->point_line);
		else if (st->in_point && depth == st->point_depth)
			gpx_point_end(st);
		return 0;
	default:
		return 0;
	}
}

int gpx_parse(const char *name, const char *text, size_t n, struct track *out,
	      struct track_report *rep, char *err, size_t errlen)
{
	int rc = 0;
	xmlTextReaderPtr r = NULL;
	struct gpx_state st;
	memset(&st, 0, sizeof st);
	st.name = name ? name : "GPX";
	st.out = out;
	st.rep = rep;
	if (!text || !out || !rep) {
		rc = err_set(err, errlen, EV_EINVAL, "gpx_parse: missing argument");
		goto out;
	}
	if (n > GPX_MAX_BYTES) {
		rc = err_set(err, errlen, EV_ELIMIT, "%s: %zu bytes is more than the %zu a GPX file "
			     "may have", st.name, n, GPX_MAX_BYTES);
		goto out;
	}
	char lerr[320];
	if ((rc = dynlib_load(&xl_lib, lerr, sizeof lerr))) {
		err_set(err, errlen, rc, "%s: %s", st.name, lerr);
		goto out;
	}
	/* No XML_PARSE_NOENT (no substitution), no DTDLOAD/DTDATTR/DTDVALID
	 * (nothing fetched or defaulted from a DTD), NONET for good measure. */
	r = XL(ReaderForMemory)(text, (int)n, NULL, NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				       XML_PARSE_NOCDATA);
	if (!r) {
		rc = err_set(err, errlen, EV_EINVAL, "%s: cannot start the XML reader", st.name);
		goto out;
	}
	XL(TextReaderSetErrorHandler)(r, gpx_on_error, &st);
	for (;;) {
		int k = XL(TextReaderRead)(r);
		if (k == 0)
			break;
		if (k < 0) {
			rc = err_set(err, errlen, EV_EINVAL, "%s:%d: not well-formed XML: %s", st.name,
				     st.err_line, st.err_msg[0] ? st.err_msg : "parse error");
			goto out;
		}
		rc = gpx_event(&st, r, err, errlen);
		if (rc)
			goto out;
	}
	if (!st.seen_root)
		rc = err_set(err, errlen, EV_EINVAL, "%s: not a GPX file (no root element)", st.name);
out:
	if (r)
		XL(FreeTextReader)(r);
	if (st.doc)
		XL(FreeDoc)(st.doc);
	free(st.ns);
	return rc;
}

int gpx_sniff(const char *text, size_t n)
{
	size_t lim = n < 4096 ? n : 4096;
	size_t i = 0;
	if (lim >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
	    (unsigned char)text[2] == 0xbf)
		i = 3;
	while (i < lim && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i >= lim || text[i] != '<')
		return 0;
	for (; i + 4 <= lim; i++)
		if (memcmp(text + i, "<gpx", 4) == 0 &&
		    (i + 4 == lim || text[i + 4] == ' ' || text[i + 4] == '>' ||
		     text[i + 4] == '\n' || text[i + 4] == '\r' || text[i + 4] == '\t'))
			return 1;
	return 0;
}
