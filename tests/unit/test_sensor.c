/*
 * The sensor parsers: CSV long and wide form, SDI-12 logs, live lines,
 * profiles, times, units and text encodings. Values at and around every
 * GB 3838 class limit go through each form and must come out as exactly
 * the number written, so they get the class the standard's table gives.
 */
#include <iconv.h>
#include <math.h>

#include "buf.h"
#include "gb3838.h"
#include "ingest.h"
#include "sensor.h"
#include "t.h"

static const struct sensor_opts o8 = {.name = "f.csv", .has_offset = 1, .offset_s = 8 * 3600};

/* The parameters a field probe or kit measures, with their limits
 * (river; then lake where it differs), as the text a file would hold. */
static const struct {
	const char *name; /* as a file names it */
	const char *id;
	const char *unit;
	const char *lim[10];
} kit[] = {
	{"溶解氧", "do", "mg/L", {"7.5", "6", "5", "3", "2"}},
	{"pH", "ph", "", {"6", "9"}},
	{"高锰酸盐指数", "codmn", "mg/L", {"2", "4", "6", "10", "15"}},
	{"化学需氧量", "cod", "mg/L", {"15", "20", "30", "40"}},
	{"五日生化需氧量", "bod5", "mg/L", {"3", "4", "6", "10"}},
	{"氨氮", "nh3n", "mg/L", {"0.15", "0.5", "1.0", "1.5", "2.0"}},
	{"总磷", "tp", "mg/L", {"0.02", "0.1", "0.2", "0.3", "0.4", "0.01", "0.025", "0.05"}},
	{"总氮", "tn", "mg/L", {"0.2", "0.5", "1.0", "1.5", "2.0"}},
};

/* The value texts for one limit: at it, and a little either side. */
static void probes(const char *lim, char out[3][32])
{
	double L = strtod(lim, NULL);
	snprintf(out[0], 32, "%s", lim);
	snprintf(out[1], 32, "%.6g", L * 1.001);
	snprintf(out[2], 32, "%.6g", L * 0.999);
}

/* Checks that every reading is good and its value is exactly the number
 * `text_of` finds in its raw line (so the class is the one the standard
 * gives that number: test_gb3838 checks the classes themselves). */
static size_t check_batch_values(const struct sensor_batch *b, double (*text_of)(const char *))
{
	size_t good = 0;
	for (size_t i = 0; i < b->n; i++) {
		const struct sensor_reading *r = &b->v[i];
		if (r->error[0]) {
			printf("# unexpected error: %s\n", r->error);
			t_fail_count++;
			continue;
		}
		good++;
		CHECK(r->has_value && r->has_time);
		double want = text_of(r->raw);
		if (strcmp(r->param->id, "nh3n") == 0 && strchr(r->raw, '!'))
			want /= 1000; /* the SDI-12 kit reports ammonia in ug/L */
		if (r->value != want) {
			printf("# %s: %.17g, the line says %.17g\n", r->raw, r->value, want);
			t_fail_count++;
		}
	}
	return good;
}

/* The value of a long-form line: the third field. */
static double long_value(const char *raw)
{
	return strtod(strchr(strchr(raw, ',') + 1, ',') + 1, NULL);
}

/* The value of a wide-form line: its one non-empty cell after the sample. */
static double wide_value(const char *raw)
{
	const char *p = strchr(strchr(raw, ',') + 1, ',');
	while (p && p[1] == ',')
		p++;
	return p ? strtod(p + 1, NULL) : NAN;
}

/* The value of an SDI-12 line: its last value. */
static double sdi12_value(const char *raw)
{
	return strtod(strrchr(raw, '+') + 1, NULL);
}

static void test_long_form_boundaries(void)
{
	struct buf csv;
	buf_init(&csv, 1 << 20);
	CHECK(buf_puts(&csv, "time,parameter,value,unit\n") == 0);
	size_t rows = 0;
	for (size_t k = 0; k < ARRAY_LEN(kit); k++)
		for (size_t j = 0; j < ARRAY_LEN(kit[k].lim) && kit[k].lim[j]; j++) {
			char pv[3][32];
			probes(kit[k].lim[j], pv);
			for (int p = 0; p < 3; p++, rows++)
				CHECK(buf_printf(&csv, "2024-05-01 10:%02zu:00,%s,%s,%s\n", rows % 60,
						 kit[k].name, pv[p], kit[k].unit) == 0);
		}
	struct sensor_batch b;
	sensor_batch_init(&b);
	char err[256] = "";
	CHECK(sensor_parse_csv(csv.data, csv.len, &o8, &b, err, sizeof err) == 0);
	CHECK_STR(b.form, "long");
	CHECK(b.n == rows);
	CHECK(check_batch_values(&b, long_value) == rows);
	sensor_batch_free(&b);
	buf_free(&csv);
}

static void test_wide_form_boundaries(void)
{
	struct buf csv;
	buf_init(&csv, 1 << 20);
	/* one column a parameter, units in the names in three spellings */
	CHECK(buf_puts(&csv, "Time,Sample_ID,DO_mg_L,pH,CODMn (mg/L),COD_mg_L,BOD5_mg_L,"
			     "NH3N_mg_L,总磷(mg/L),TN_mg_L\n") == 0);
	size_t rows = 0, cells = 0;
	for (size_t k = 0; k < ARRAY_LEN(kit); k++)
		for (size_t j = 0; j < ARRAY_LEN(kit[k].lim) && kit[k].lim[j]; j++) {
			char pv[3][32];
			probes(kit[k].lim[j], pv);
			for (int p = 0; p < 3; p++, rows++, cells++) {
				CHECK(buf_printf(&csv, "2024-05-01T10:00:%02zu+08:00,S%zu", rows % 60,
						 rows) == 0);
				for (size_t col = 0; col < ARRAY_LEN(kit); col++)
					CHECK(buf_printf(&csv, ",%s", col == k ? pv[p] : "") == 0);
				CHECK(buf_puts(&csv, "\n") == 0);
			}
		}
	struct sensor_batch b;
	sensor_batch_init(&b);
	char err[256] = "";
	CHECK(sensor_parse_csv(csv.data, csv.len, &o8, &b, err, sizeof err) == 0);
	if (err[0])
		printf("# %s\n", err);
	CHECK_STR(b.form, "wide");
	CHECK(b.n == cells);
	CHECK(check_batch_values(&b, wide_value) == cells);
	/* the parameter of each reading is its column's */
	for (size_t i = 0; i < b.n; i++)
		CHECK(b.v[i].sample_id[0] == 'S');
	sensor_batch_free(&b);
	buf_free(&csv);
}

static void test_sdi12_boundaries(void)
{
	static const char prof[] =
		"name = kit8\nmodel = test kit\naddress = 3\n"
		"value.1 = do mg/L\nvalue.2 = ph\nvalue.3 = codmn\nvalue.4 = cod\n"
		"value.5 = bod5\nvalue.D1.1 = nh3n ug/L\nvalue.D1.2 = tp\nvalue.D1.3 = tn mg/L\n";
	struct sensor_profile p;
	char err[256] = "";
	CHECK(sensor_profile_parse(prof, strlen(prof), "kit8.profile", &p, err, sizeof err) == 0);
	CHECK(p.n_map == 8);
	struct buf log;
	buf_init(&log, 1 << 20);
	size_t n = 0;
	for (size_t k = 0; k < ARRAY_LEN(kit); k++)
		for (size_t j = 0; j < ARRAY_LEN(kit[k].lim) && kit[k].lim[j]; j++) {
			char pv[3][32];
			probes(kit[k].lim[j], pv);
			for (int q = 0; q < 3; q++, n++) {
				int d1 = k >= 5;
				size_t pos = d1 ? k - 5 : k;
				CHECK(buf_printf(&log, "2024-05-01T02:%02zu:00Z 3D%d!3", n % 60, d1) == 0);
				for (size_t x = 0; x <= pos; x++) {
					double v = x == pos ? strtod(pv[q], NULL) : 1;
					/* ammonia goes in ug/L: 0.15 mg/L is +150 */
					if (x == pos && strcmp(kit[k].id, "nh3n") == 0)
						CHECK(buf_printf(&log, "+%.6g", v * 1000) == 0);
					else
						CHECK(buf_printf(&log, "+%s", x == pos ? pv[q] : "1") == 0);
				}
				CHECK(buf_puts(&log, "\r\n") == 0);
			}
		}
	struct sensor_batch b;
	sensor_batch_init(&b);
	struct sensor_opts o = {.name = "log.txt"};
	CHECK(sensor_parse_sdi12(log.data, log.len, &p, &o, &b, err, sizeof err) == 0);
	/* each line gives its own value last, after fillers of 1 */
	size_t found = 0, last = 0;
	for (size_t i = 0; i < b.n; i++)
		if (i + 1 == b.n || b.v[i + 1].line_no != b.v[i].line_no) {
			last++;
			CHECK(b.v[i].has_value);
		}
	CHECK(last == n);
	for (size_t i = 0; i < b.n; i++)
		if (i + 1 == b.n || b.v[i + 1].line_no != b.v[i].line_no) {
			struct sensor_batch one = {.v = &b.v[i], .n = 1, .cap = 1};
			CHECK(check_batch_values(&one, sdi12_value) == 1);
		}
	/* 150 ug/L is exactly 0.15 mg/L: class I for ammonia, not II */
	for (size_t i = 0; i < b.n; i++)
		if (strcmp(b.v[i].param->id, "nh3n") == 0 && strstr(b.v[i].raw, "+150\r") == NULL &&
		    b.v[i].value == 0.15) {
			enum gb3838_class c;
			CHECK(gb3838_classify("nh3n", b.v[i].value, GB3838_RIVER, &c) == 0 &&
			      c == GB3838_I);
			found++;
		}
	CHECK(found == 1);
	sensor_batch_free(&b);
	buf_free(&log);
}

/* The reading of batch b with parameter id on line `line`, or NULL. */
static const struct sensor_reading *find(const struct sensor_batch *b, size_t line,
					 const char *id)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].line_no == line &&
		    (id ? b->v[i].param && strcmp(b->v[i].param->id, id) == 0 : !b->v[i].param))
			return &b->v[i];
	return NULL;
}

static void test_malformed_lines(void)
{
	static const char csv[] =
		"\xef\xbb\xbftime,parameter,value,unit,sample_id,remark\n"
		"2024-05-01 10:00:00,氨氮,2.3,mg/L,A,ok\n"        /* 2 good */
		"2024-05-01 10:00:00,总磷,abc,mg/L,A,\n"          /* 3 bad number */
		"2024-05-01 10:00:00,NO3,1.0,mg/L,A,\n"           /* 4 unknown parameter */
		"2024-05-01 10:00:00,溶解氧,8,NTU,A,\n"            /* 5 wrong unit */
		"2024-05-01 10:00:00,总磷,<0.01,mg/L,A,\n"        /* 6 detection limit */
		"2024-13-01 10:00:00,pH,7,,A,\n"                  /* 7 bad time */
		"2024-05-01 10:00:00,pH,15,,A,\n"                 /* 8 out of range */
		"2024-05-01 10:00:00,\"DO\",\"7,5\",mg/L,A,\n"    /* 9 comma decimal */
		"2024-05-01 10:00:00,DO,,mg/L,A,\n"               /* 10 no value */
		"2024-05-01 10:00:00,DO,5,,A,\n"                  /* 11 no unit */
		"2024-05-01 10:00:00,\"DO,5,mg/L,A,\n"            /* 12 open quote */
		"2024-05-01 10:00:00,DO,5,mg/L,A,x,y\n"           /* 13 too many fields */
		"2024-05-01 10:00:00,DO,nan,mg/L,A,\n"            /* 14 nan */
		"2024-05-01 10:00:00,DO,0x10,mg/L,A,\n"           /* 15 hex */
		"2024-05-01 10:00:00,DO,1e999,mg/L,A,\n"          /* 16 overflow */
		"2024-05-01 10:00:00,TP,150,ug/L,A,\n";           /* 17 good, converted */
	struct sensor_batch b;
	sensor_batch_init(&b);
	char err[256] = "";
	CHECK(sensor_parse_csv(csv, strlen(csv), &o8, &b, err, sizeof err) == 0);
	CHECK(strstr(b.note, "remark") != NULL);
	const struct sensor_reading *r;
	CHECK((r = find(&b, 2, "nh3n")) && !r->error[0] && r->value == 2.3 &&
	      r->t == 1714528800.0 && strcmp(r->sample_id, "A") == 0);
	CHECK((r = find(&b, 3, "tp")) && strstr(r->error, "f.csv:3:") &&
	      strstr(r->error, "not a number") && !r->has_value);
	CHECK((r = find(&b, 4, NULL)) && strstr(r->error, "unknown parameter 'NO3'"));
	CHECK((r = find(&b, 5, "do")) && strstr(r->error, "unit 'NTU'") && !r->has_value);
	CHECK((r = find(&b, 6, "tp")) && strstr(r->error, "detection-limit") && !r->has_value);
	CHECK((r = find(&b, 7, "ph")) && strstr(r->error, "not a date") && !r->has_value);
	CHECK((r = find(&b, 8, "ph")) && strstr(r->error, "outside") && !r->has_value);
	CHECK((r = find(&b, 9, "do")) && r->error[0] && !r->has_value);
	CHECK((r = find(&b, 10, "do")) && strstr(r->error, "no value"));
	CHECK((r = find(&b, 11, "do")) && strstr(r->error, "no unit"));
	CHECK((r = find(&b, 12, NULL)) && strstr(r->error, "quoted"));
	CHECK((r = find(&b, 13, NULL)) && strstr(r->error, "fields"));
	CHECK((r = find(&b, 14, "do")) && !r->has_value && r->error[0]);
	CHECK((r = find(&b, 15, "do")) && !r->has_value && r->error[0]);
	CHECK((r = find(&b, 16, "do")) && !r->has_value && r->error[0]);
	CHECK((r = find(&b, 17, "tp")) && !r->error[0] && r->value == 0.15);
	size_t good, bad;
	sensor_batch_count(&b, &good, &bad);
	CHECK(good == 2 && bad == 14);
	CHECK(b.bad_lines == 14);
	/* no reading with an error carries a value, ever */
	for (size_t i = 0; i < b.n; i++)
		CHECK(!b.v[i].error[0] || !b.v[i].has_value);
	/* raw is the line as written, hashed */
	r = find(&b, 3, "tp");
	CHECK(r && strcmp(r->raw, "2024-05-01 10:00:00,总磷,abc,mg/L,A,") == 0);
	char h[65];
	if (r) {
		sha256_hex(r->raw, strlen(r->raw), h);
		CHECK(strcmp(h, r->raw_sha256) == 0);
	}
	sensor_batch_free(&b);
}

static void test_header_problems(void)
{
	struct sensor_batch b;
	char err[256];
	static const char *const bad[] = {
		"",                                              /* empty */
		"parameter,value,unit\n",                        /* no time */
		"time,parameter,value\n",                        /* long without unit */
		"time,DO_mg_L,溶解氧(mg/L)\n2024-05-01 10:00:00,1,2\n", /* one parameter twice */
		"time,time,pH\n",                                /* time twice */
		"time\n",                                        /* nothing measured */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		sensor_batch_init(&b);
		err[0] = '\0';
		int rc = sensor_parse_csv(bad[i], strlen(bad[i]), &o8, &b, err, sizeof err);
		CHECK(rc == EV_EINVAL);
		CHECK(strstr(err, "f.csv") != NULL);
		CHECK(b.n == 0);
		sensor_batch_free(&b);
	}
	/* a wide column without a unit, or an unknown one, is kept per line */
	static const char w[] = "time\tDO\tFoo_mg_L\tpH\n2024-05-01 10:00:00\t7\t3\t7.5\n";
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(w, strlen(w), &o8, &b, err, sizeof err) == 0);
	const struct sensor_reading *r;
	CHECK((r = find(&b, 2, "do")) && strstr(r->error, "names no unit"));
	CHECK((r = find(&b, 2, NULL)) && strstr(r->error, "Foo_mg_L"));
	CHECK((r = find(&b, 2, "ph")) && !r->error[0] && r->value == 7.5);
	sensor_batch_free(&b);
}

/* A row with fewer fields than the header (a file cut off mid-row) is
 * kept as an error naming both counts, never read as far as it goes; an
 * empty last field still counts as one. */
static void test_short_rows(void)
{
	static const char wide[] = "Time,Sample_ID,COD_mg_L,pH,lat,lon\n"
				   "2024-05-01T10:00:00+08:00,W1,14,7.1,31.5,120.5\n"
				   "2024-05-01T10:05:00+08:00,W2,,7.2,,\n"
				   "2024-05-01T10:10:00+08:00,W3,12";
	static const char lng[] = "time,parameter,value,unit,sample_id\n"
				  "2024-05-01 10:00:00,pH,7.1,,S1\n"
				  "2024-05-01 10:00:00,pH,7\n"
				  "2024-05-01 10:00:00,pH,7.2,,\n";
	struct sensor_batch b;
	const struct sensor_reading *r;
	char err[256] = "";
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(wide, strlen(wide), &o8, &b, err, sizeof err) == 0);
	CHECK((r = find(&b, 2, "cod")) && !r->error[0] && r->value == 14);
	CHECK((r = find(&b, 3, "ph")) && !r->error[0] && r->value == 7.2 && !r->has_pos);
	CHECK(!find(&b, 3, NULL) && !find(&b, 3, "cod"));
	CHECK((r = find(&b, 4, NULL)) &&
	      strcmp(r->error, "f.csv:4: the line has 3 fields, the header 6") == 0);
	CHECK(!find(&b, 4, "cod") && b.bad_lines == 1);
	sensor_batch_free(&b);
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(lng, strlen(lng), &o8, &b, err, sizeof err) == 0);
	CHECK((r = find(&b, 2, "ph")) && !r->error[0] && strcmp(r->sample_id, "S1") == 0);
	CHECK((r = find(&b, 3, NULL)) &&
	      strcmp(r->error, "f.csv:3: the line has 3 fields, the header 5") == 0);
	CHECK(!find(&b, 3, "ph"));
	CHECK((r = find(&b, 4, "ph")) && !r->error[0] && r->value == 7.2 && !r->sample_id[0]);
	sensor_batch_free(&b);
}

/* A quoted field may hold a line break (Excel's Alt+Enter in a remarks
 * cell): the record runs on to its closing quote and is named by its first
 * line; a quote that does not close spoils its own line only. */
static void test_quoted_line_breaks(void)
{
	static const char csv[] = "time,parameter,value,unit,sample_id,remarks\r\n"
				  "2024-05-01 10:00:00,pH,7.1,,S1,\"upstream of outfall\r\n"
				  "water \"\"turbid\"\"\"\r\n"
				  "2024-05-01 10:00:00,DO,abc,mg/L,S1,\"a\n\nb\"\r\n"
				  "2024-05-01 10:00:00,DO,7.8,mg/L,S1,ok\r\n";
	struct sensor_batch b;
	const struct sensor_reading *r;
	char err[256] = "";
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(csv, strlen(csv), &o8, &b, err, sizeof err) == 0);
	CHECK((r = find(&b, 2, "ph")) && !r->error[0] && r->value == 7.1 &&
	      strcmp(r->raw, "2024-05-01 10:00:00,pH,7.1,,S1,\"upstream of outfall\r\n"
			     "water \"\"turbid\"\"\"") == 0);
	CHECK((r = find(&b, 4, "do")) && strstr(r->error, "f.csv:4: value 'abc'"));
	CHECK((r = find(&b, 7, "do")) && !r->error[0] && r->value == 7.8);
	CHECK(b.n == 3 && b.lines == 7 && b.bad_lines == 1);
	sensor_batch_free(&b);

	/* a quote still open at the end of the file: its line, then the rest */
	static const char open_eof[] = "time,parameter,value,unit,sample_id\n"
				       "2024-05-01 10:00:00,pH,7.1,,\"S1\n"
				       "2024-05-01 10:00:00,DO,7.8,mg/L,S1\n";
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(open_eof, strlen(open_eof), &o8, &b, err, sizeof err) == 0);
	CHECK((r = find(&b, 2, NULL)) &&
	      strcmp(r->error, "f.csv:2: the line has a quoted field that is still open at the "
			       "end of the file") == 0);
	CHECK((r = find(&b, 3, "do")) && !r->error[0] && r->value == 7.8);
	sensor_batch_free(&b);

	/* one that closes only past the bound: its line, then the rest read */
	struct buf t;
	buf_init(&t, 1 << 20);
	CHECK(buf_puts(&t, "time,parameter,value,unit,sample_id\n"
			   "2024-05-01 10:00:00,pH,7.1,,\"S1\n") == 0);
	for (int i = 0; i < SENSOR_MAX_RECORD_LINES + 2; i++)
		CHECK(buf_printf(&t, "2024-05-01 10:00:%02d,DO,7.8,mg/L,S%d\n", i, i) == 0);
	CHECK(buf_puts(&t, "2024-05-01 10:01:00,DO,7.9,mg/L,S\"\n") == 0);
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(t.data, t.len, &o8, &b, err, sizeof err) == 0);
	CHECK((r = find(&b, 2, NULL)) &&
	      strstr(r->error, "f.csv:2: the line has a quoted field that does not end within"));
	CHECK((r = find(&b, 3, "do")) && !r->error[0]);
	CHECK(b.n == (size_t)SENSOR_MAX_RECORD_LINES + 4 && b.bad_lines == 1);
	sensor_batch_free(&b);
	buf_free(&t);

	/* a byte that is not text in such a record is named, not its breaks */
	static const char noisy[] = "time,parameter,value,unit,sample_id,remarks\n"
				    "2024-05-01 10:00:00,pH,7.1,,S1,\"a\nb\x01\"\n";
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(noisy, strlen(noisy), &o8, &b, err, sizeof err) == 0);
	CHECK(b.n == 1 && (r = find(&b, 2, NULL)) &&
	      strstr(r->error, "(the first, \\x01, is character 36)"));
	sensor_batch_free(&b);
}

static void test_time_offset_needed(void)
{
	static const char csv[] = "time,parameter,value,unit\n"
				  "2024-05-01 10:00:00,pH,7,\n"
				  "2024-05-01T10:00:00+08:00,pH,7,\n";
	struct sensor_batch b;
	struct sensor_opts none = {.name = "n.csv"};
	char err[256];
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(csv, strlen(csv), &none, &b, err, sizeof err) == 0);
	CHECK(b.need_offset);
	CHECK(b.n == 2 && strstr(b.v[0].error, "--time-offset") && !b.v[1].error[0]);
	CHECK(b.v[1].t == 1714528800.0);
	sensor_batch_free(&b);
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(csv, strlen(csv), &o8, &b, err, sizeof err) == 0);
	CHECK(!b.need_offset && b.v[0].t == b.v[1].t);
	sensor_batch_free(&b);
}

static void test_times(void)
{
	double t;
	const struct sensor_opts z = {.name = "x"};
	CHECK(sensor_time_parse("2024-05-01T02:00:00Z", 20, &z, &t) == 0 && t == 1714528800.0);
	CHECK(sensor_time_parse("2024/05/01 10:00:00+0800", 24, &z, &t) == 0 && t == 1714528800.0);
	CHECK(sensor_time_parse("2024-05-01 10:00+08", 19, &z, &t) == 0 && t == 1714528800.0);
	CHECK(sensor_time_parse("2024-05-01 10:00:00.5 +08:00", 28, &z, &t) == 0 &&
	      t == 1714528800.5);
	CHECK(sensor_time_parse("2024-05-01 10:00:00", 19, &z, &t) == EV_ENOENT);
	CHECK(sensor_time_parse("2024-05-01 10:00:00", 19, &o8, &t) == 0 && t == 1714528800.0);
	CHECK(sensor_time_parse("2023-02-29 10:00:00Z", 20, &z, &t) == EV_EINVAL);
	CHECK(sensor_time_parse("2024-05-01 24:00:00Z", 20, &z, &t) == EV_EINVAL);
	CHECK(sensor_time_parse("2024-05-01 10:00:00Q", 20, &z, &t) == EV_EINVAL);
	/* a zone cut short or too long is not a zone (the first was read as
	 * +08:00 before the zone reader was shared) */
	CHECK(sensor_time_parse("2024-05-01 10:00:00+08:", 23, &z, &t) == EV_EINVAL);
	CHECK(sensor_time_parse("2024-05-01 10:00:00+08:000", 26, &z, &t) == EV_EINVAL);
	CHECK(sensor_time_parse("2024-05-01 10:00:00-03:30", 25, &z, &t) == 0 &&
	      t == 1714570200.0); /* 13:30Z */
	CHECK(sensor_time_parse("2024-5-1 10:00:00Z", 18, &z, &t) == EV_EINVAL);
	CHECK(sensor_time_parse("", 0, &z, &t) == EV_EINVAL);
}

static void test_params_and_units(void)
{
	const struct sensor_param *p;
	CHECK((p = sensor_param_lookup(" Dissolved Oxygen ", 18)) && !strcmp(p->id, "do"));
	CHECK((p = sensor_param_lookup("氨氮", strlen("氨氮"))) && !strcmp(p->id, "nh3n"));
	CHECK((p = sensor_param_lookup("NH3-N", 5)) && !strcmp(p->id, "nh3n"));
	static const char *const zh[] = {"溶解氧", "氨氮", "总磷", "化学需氧量", "高锰酸盐指数",
					 "五日生化需氧量", "总氮", "pH", "水温"};
	static const char *const ids[] = {"do", "nh3n", "tp", "cod", "codmn", "bod5", "tn", "ph",
					  "temp"};
	for (size_t i = 0; i < ARRAY_LEN(zh); i++)
		CHECK((p = sensor_param_lookup(zh[i], strlen(zh[i]))) && !strcmp(p->id, ids[i]));
	CHECK(sensor_param_lookup("nitrate", 7) == NULL);
	CHECK(sensor_param_lookup("", 0) == NULL);
	double v = 0;
	p = sensor_param_by_id("nh3n");
	CHECK(sensor_unit_convert(p, "µg/L", strlen("µg/L"), 500, &v) == 0 && v == 0.5);
	CHECK(sensor_unit_convert(p, "MG/L", 4, 1.5, &v) == 0 && v == 1.5);
	CHECK(sensor_unit_convert(p, "NTU", 3, 1, &v) == EV_EINVAL);
	CHECK(sensor_unit_convert(p, "", 0, 1, &v) == EV_EINVAL);
	p = sensor_param_by_id("ph");
	CHECK(sensor_unit_convert(p, "", 0, 7, &v) == 0 && v == 7);
	p = sensor_param_by_id("fcoli");
	CHECK(sensor_unit_convert(p, "MPN/100mL", 9, 4000, &v) == 0 && v == 40000);
	p = sensor_param_by_id("temp");
	CHECK(sensor_unit_convert(p, "℃", strlen("℃"), 20, &v) == 0 && v == 20);
	CHECK(sensor_unit_convert(p, "F", 1, 20, &v) == EV_EINVAL);
	for (size_t i = 0; (p = sensor_param_at(i)); i++)
		CHECK(sensor_param_lookup(p->id, strlen(p->id)) == p);
}

static void test_sdi12_lines(void)
{
	static const char prof[] = "name = tdp\naddress = 0\nmissing = -9999\n"
				   "value.1 = temp\nvalue.2 = do mg/L\nvalue.3 = ph\n";
	static const char log[] =
		"# logger start\n"
		"2024-05-01T10:00:00+08:00 0D0!0+17.5+8.25+6.45\r\n"    /* 2 good, glued */
		"2024-05-01 10:01:00 0D0! 0+17.5-0.5+6.45\n"            /* 3 negative DO */
		"2024-05-01 10:02:00 0M!\n"                             /* 4 ignored */
		"2024-05-01 10:02:00 00053\n"                           /* 5 ignored */
		"2024-05-01 10:03:00 1D0!1+17.5+8.0+7\n"                /* 6 wrong address */
		"2024-05-01 10:04:00 0D0!0+17.5+8.0+7+99\n"             /* 7 extra position */
		"2024-05-01 10:05:00 0D0!0+17.5-9999+7\n"               /* 8 missing code */
		"2024-05-01 10:06:00 0D0!0\n"                           /* 9 no values */
		"2024-05-01 10:07:00 0D0!0+17.5+abc\n"                  /* 10 junk */
		"0D0!0+17.5+8+7\n"                                      /* 11 no time */
		"2024-05-01 10:08:00,0+18+9+8\n";                       /* 12 good, comma */
	struct sensor_profile p;
	char err[256];
	CHECK(sensor_profile_parse(prof, strlen(prof), "tdp.profile", &p, err, sizeof err) == 0);
	struct sensor_batch b;
	sensor_batch_init(&b);
	struct sensor_opts o = o8;
	o.name = "probe.log";
	CHECK(sensor_parse_sdi12(log, strlen(log), &p, &o, &b, err, sizeof err) == 0);
	const struct sensor_reading *r;
	CHECK((r = find(&b, 2, "do")) && !r->error[0] && r->value == 8.25 && r->t == 1714528800.0);
	CHECK((r = find(&b, 2, "ph")) && r->value == 6.45);
	CHECK((r = find(&b, 2, "temp")) && r->value == 17.5);
	CHECK(strcmp(find(&b, 2, "do")->raw, "2024-05-01T10:00:00+08:00 0D0!0+17.5+8.25+6.45") == 0);
	CHECK((r = find(&b, 3, "do")) && strstr(r->error, "probe.log:3:") && !r->has_value);
	CHECK((r = find(&b, 3, "ph")) && !r->error[0]);
	CHECK(!find(&b, 4, NULL) && !find(&b, 5, NULL) && !find(&b, 5, "temp"));
	CHECK(b.ignored >= 3);
	CHECK((r = find(&b, 6, NULL)) && strstr(r->error, "address 1"));
	CHECK(!find(&b, 6, "do"));
	CHECK((r = find(&b, 7, NULL)) && strstr(r->error, "position 4"));
	CHECK((r = find(&b, 7, "ph")) && !r->error[0]);
	CHECK((r = find(&b, 8, "do")) && strstr(r->error, "-9999") && !r->has_value);
	CHECK((r = find(&b, 9, NULL)) && strstr(r->error, "no values"));
	CHECK((r = find(&b, 10, "do")) && strstr(r->error, "not a number"));
	CHECK((r = find(&b, 11, NULL)) && strstr(r->error, "no time"));
	CHECK((r = find(&b, 12, "ph")) && !r->error[0] && r->value == 8);
	for (size_t i = 0; i < b.n; i++)
		CHECK(!b.v[i].error[0] || !b.v[i].has_value);
	sensor_batch_free(&b);
}

/* Lines ended by a carriage return alone (Excel's "CSV (Macintosh)"):
 * each is a line, numbered as such; the file was one unreadable header. */
static void test_cr_lines(void)
{
	static const char csv[] = "time,parameter,value,unit,sample_id\r"
				  "2024-05-01 10:00:00,NH3N,2.3,mg/L,A\r"
				  "2024-05-01 10:00:00,DO,nan,mg/L,A\r"
				  "2024-05-01 10:05:00,pH,7.1,,B\r";
	struct sensor_batch b;
	sensor_batch_init(&b);
	char err[256] = "";
	CHECK(sensor_parse_csv(csv, strlen(csv), &o8, &b, err, sizeof err) == 0);
	CHECK(b.lines == 4);
	const struct sensor_reading *r;
	CHECK((r = find(&b, 2, "nh3n")) && !r->error[0] && r->value == 2.3 &&
	      strcmp(r->raw, "2024-05-01 10:00:00,NH3N,2.3,mg/L,A") == 0);
	CHECK((r = find(&b, 3, "do")) && strstr(r->error, "f.csv:3:") && !r->has_value);
	CHECK((r = find(&b, 4, "ph")) && !r->error[0] && r->value == 7.1);
	sensor_batch_free(&b);
}

/* A time in a year out of range (a probe's clock reset to 1970) is named
 * as that; a time that is no date at all keeps its message. */
static void test_time_years(void)
{
	static const char csv[] = "time,parameter,value,unit\n"
				  "1970-01-01 00:00:12,pH,7.1,\n"
				  "2301/01/01 10:00,pH,7.1,\n"
				  "soon,pH,7.1,\n"
				  "2024-05-01 10:00:00,pH,7.1,\n";
	struct sensor_batch b;
	sensor_batch_init(&b);
	char err[256] = "";
	CHECK(sensor_parse_csv(csv, strlen(csv), &o8, &b, err, sizeof err) == 0);
	const struct sensor_reading *r;
	CHECK((r = find(&b, 2, "ph")) && !r->has_value &&
	      strcmp(r->error, "f.csv:2: time '1970-01-01 00:00:12' is in the year 1970, outside "
			       "1990 to 2200 (was the instrument's clock reset?)") == 0);
	CHECK((r = find(&b, 3, "ph")) && strstr(r->error, "in the year 2301, outside") != NULL);
	CHECK((r = find(&b, 4, "ph")) &&
	      strcmp(r->error, "f.csv:4: time 'soon' is not a date and time") == 0);
	CHECK((r = find(&b, 5, "ph")) && !r->error[0]);
	sensor_batch_free(&b);
}

static void test_profiles(void)
{
	struct sensor_profile p;
	char err[256];
	static const char *const bad[] = {
		"value.1 = nitrate mg/L\n",           /* unknown parameter */
		"value.1 = do NTU\n",                 /* wrong unit */
		"value.0 = do\n",                     /* position 0 */
		"value.1 = do\nvalue.D0.1 = ph\n",    /* same position twice */
		"colour = red\nvalue.1 = do\n",       /* unknown key */
		"address = 12\nvalue.1 = do\n",       /* address too long */
		"name = x\n",                         /* sdi12 without values */
		"value.1 = do\ncalibrated = 2024-13-01\n",
		"just text\n",
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		CHECK(sensor_profile_parse(bad[i], strlen(bad[i]), "bad.profile", &p, err,
					   sizeof err) != 0);
		CHECK(strstr(err, "bad.profile") != NULL);
	}
	static const char good[] = "name = exo\nmodel = YSI EXO2\nserial = 17A1\n"
				   "calibrated = 2024-04-30\nvalue.D1.2 = 氨氮 mg/L\n";
	CHECK(sensor_profile_parse(good, strlen(good), "exo.profile", &p, err, sizeof err) == 0);
	CHECK(p.n_map == 1 && p.map[0].cmd == 1 && p.map[0].pos == 2);
	char *j = sensor_instrument_json(&p);
	CHECK_STR(j, "{\"calibrated\":\"2024-04-30\",\"model\":\"YSI EXO2\",\"name\":\"exo\","
		     "\"serial\":\"17A1\"}");
	free(j);
	/* a key given twice is refused, both lines named: the second used to
	 * replace the first, and the readings named the instrument it gave */
	static const char *const twice[][2] = {
		{"name = exo\nvalue.1 = do\n\nname = other\n",
		 "bad.profile:4: name is already given on line 1"},
		{"serial = 17A1\nserial = 17A2\nvalue.1 = do\n",
		 "bad.profile:2: serial is already given on line 1"},
		{"value.1 = do\ncalibrated = 2024-04-30\ncalibrated = 2025-04-30\n",
		 "bad.profile:3: calibrated is already given on line 2"},
		{"missing = -9999\nvalue.1 = do\nmissing = 0\n",
		 "bad.profile:3: missing is already given on line 1"},
		{"address = 0\naddress = 1\nvalue.1 = do\n",
		 "bad.profile:2: address is already given on line 1"},
	};
	/* Notepad's byte-order mark before the first key */
	static const char bom[] = "\xef\xbb\xbfname = exo\nvalue.1 = do\n";
	CHECK(sensor_profile_parse(bom, strlen(bom), "exo.profile", &p, err, sizeof err) == 0);
	CHECK_STR(p.name, "exo");
	for (size_t i = 0; i < ARRAY_LEN(twice); i++) {
		err[0] = '\0';
		CHECK(sensor_profile_parse(twice[i][0], strlen(twice[i][0]), "bad.profile", &p, err,
					   sizeof err) == EV_EINVAL);
		CHECK_STR(err, twice[i][1]);
	}
}

static void test_gb18030_file(void)
{
	const char utf8[] = "时间,项目,数值,单位\n2024-05-01 10:00:00,氨氮,2.3,毫克/升\n";
	char gb[256];
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	CHECK(cd != (iconv_t)-1);
	char *in = (char *)utf8, *out = gb;
	size_t il = strlen(utf8), ol = sizeof gb;
	CHECK(iconv(cd, &in, &il, &out, &ol) != (size_t)-1);
	iconv_close(cd);
	size_t gl = sizeof gb - ol;
	CHECK(!utf8_valid(gb, gl));
	struct buf t;
	buf_init(&t, 1 << 20);
	const char *enc = NULL;
	char err[256];
	CHECK(sensor_text_decode(gb, gl, "gbk.csv", &t, &enc, err, sizeof err) == 0);
	CHECK_STR(enc, "gb18030");
	CHECK(t.len == strlen(utf8) && memcmp(t.data, utf8, t.len) == 0);
	struct sensor_batch b;
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(t.data, t.len, &o8, &b, err, sizeof err) == 0);
	CHECK(b.n == 1 && !b.v[0].error[0] && b.v[0].value == 2.3);
	sensor_batch_free(&b);
	buf_free(&t);
	/* UTF-16 is refused, naming the file */
	buf_init(&t, 1 << 20);
	CHECK(sensor_text_decode("\xff\xfet\0", 4, "u16.csv", &t, &enc, err, sizeof err) ==
	      EV_EINVAL);
	CHECK(strstr(err, "u16.csv") != NULL);
	buf_free(&t);
}

/* Decodes and parses text as an import does; the batch and encoding. */
static int decode_parse(const char *in, size_t n, struct sensor_batch *b, const char **enc)
{
	struct buf t;
	char err[256] = "";
	buf_init(&t, 1 << 20);
	sensor_batch_init(b);
	int rc = sensor_text_decode(in, n, "f.csv", &t, enc, err, sizeof err);
	if (!rc)
		rc = sensor_parse_csv(t.data, t.len, &o8, b, err, sizeof err);
	if (err[0])
		printf("# %s\n", err);
	buf_free(&t);
	return rc;
}

/* A byte that is neither UTF-8 nor GB18030 (line noise, a copy cut inside
 * its last character) spoils its own line, not the file: the line is kept
 * as an error naming the byte, the others are read. */
static void test_stray_bytes(void)
{
	struct sensor_batch b;
	const struct sensor_reading *r;
	const char *enc = NULL;
	/* ASCII with 0xFF in line 2's sample id */
	static const char ascii[] = "time,parameter,value,unit,sample_id\n"
				    "2024-05-01 10:00:00,pH,7.1,,S\xff" "1\n"
				    "2024-05-01 10:01:00,DO,7.8,mg/L,S2\n";
	CHECK(decode_parse(ascii, sizeof ascii - 1, &b, &enc) == 0);
	CHECK_STR(enc, "utf-8");
	CHECK((r = find(&b, 2, NULL)) && !r->has_value &&
	      strstr(r->error, "f.csv:2: the line holds bytes that are not text") &&
	      strstr(r->error, "(the first, \\xFF, is character 30)") &&
	      strcmp(r->raw, "2024-05-01 10:00:00,pH,7.1,,S\\xff1") == 0);
	CHECK((r = find(&b, 3, "do")) && !r->error[0] && r->value == 7.8);
	CHECK(b.bad_lines == 1);
	sensor_batch_free(&b);
	/* UTF-8 with Chinese names and the same byte in line 3 */
	static const char zh[] = "time,parameter,value,unit,sample_id\n"
				 "2024-05-01 10:00:00,氨氮,2.3,mg/L,S1\n"
				 "2024-05-01 10:01:00,溶解氧,7.8,mg/L,S\xff" "1\n"
				 "2024-05-01 10:05:00,总磷,0.1,mg/L,上游1\n";
	CHECK(decode_parse(zh, sizeof zh - 1, &b, &enc) == 0);
	CHECK_STR(enc, "utf-8");
	CHECK((r = find(&b, 2, "nh3n")) && !r->error[0] && r->value == 2.3);
	CHECK((r = find(&b, 3, NULL)) && strstr(r->error, "f.csv:3: ") &&
	      strstr(r->error, "溶解氧,7.8,mg/L,S\\xFF1 (the first, \\xFF, is character 35)"));
	CHECK((r = find(&b, 4, "tp")) && !r->error[0] && strcmp(r->sample_id, "上游1") == 0);
	sensor_batch_free(&b);
	/* the same text cut inside its last character */
	size_t cut = strlen(zh) - strlen("\xb8\xb8" "1\n"); /* 游 is e6 b8 b8 */
	CHECK(decode_parse(zh, cut, &b, &enc) == 0);
	CHECK_STR(enc, "utf-8");
	CHECK((r = find(&b, 4, NULL)) && strstr(r->error, "f.csv:4: ") &&
	      strstr(r->error, "上\\xE6"));
	CHECK(find(&b, 2, "nh3n") && b.bad_lines == 2);
	sensor_batch_free(&b);
	/* GB18030 text with the byte: still GB18030, its other lines read */
	static const char gbz[] = "时间,项目,数值,单位,样品编号\n"
				  "2024-05-01 10:00:00,氨氮,2.3,mg/L,上游\n"
				  "2024-05-01 10:01:00,总磷,0.1,mg/L,下游\n";
	char gb[512];
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	CHECK(cd != (iconv_t)-1);
	char *in = (char *)gbz, *out = gb;
	size_t il = strlen(gbz), ol = sizeof gb;
	CHECK(iconv(cd, &in, &il, &out, &ol) != (size_t)-1);
	iconv_close(cd);
	size_t gl = sizeof gb - ol;
	/* "下游\n" at the end becomes "下\xff游\n" (游 is two bytes) */
	CHECK(gl + 1 < sizeof gb);
	memmove(gb + gl - 2, gb + gl - 3, 3);
	gb[gl - 3] = '\xff';
	gl++;
	CHECK(decode_parse(gb, gl, &b, &enc) == 0);
	CHECK_STR(enc, "gb18030");
	CHECK((r = find(&b, 2, "nh3n")) && !r->error[0] && strcmp(r->sample_id, "上游") == 0);
	CHECK((r = find(&b, 3, NULL)) && strstr(r->error, "f.csv:3: ") &&
	      strstr(r->error, "总磷,0.1,mg/L,下\\xFF游 (the first, \\xFF, is character 34)"));
	sensor_batch_free(&b);
}

static void test_live_lines(void)
{
	static const char prof[] = "name = tdp\nvalue.1 = temp\nvalue.2 = do\nvalue.3 = ph\n";
	struct sensor_profile p;
	char err[256];
	CHECK(sensor_profile_parse(prof, strlen(prof), "tdp", &p, err, sizeof err) == 0);
	struct sensor_opts o = {.name = "/dev/ttyUSB0", .has_now = 1, .now = 1714528800.25};
	struct sensor_batch b;
	sensor_batch_init(&b);
	CHECK(sensor_parse_line(SENSOR_FMT_SDI12, "0+17.5+8.25+6.45", 16, 7, &p, &o, &b) == 0);
	CHECK(b.n == 3 && b.v[0].line_no == 7 && b.v[0].t == 1714528800.25 && !b.v[1].error[0]);
	CHECK(sensor_parse_line(SENSOR_FMT_SDI12, "0+1\x00\xff", 5, 8, &p, &o, &b) == 0);
	CHECK(b.n == 4 && strstr(b.v[3].error, "not text") && !b.v[3].param &&
	      strcmp(b.v[3].raw, "0+1\\x00\\xff") == 0);
	/* line noise keeps the time it arrived */
	CHECK(b.v[3].has_time && b.v[3].t == o.now);
	CHECK(sensor_parse_line(SENSOR_FMT_CSV, "pH,7.1,", 7, 9, NULL, &o, &b) == 0);
	CHECK(b.n == 5 && !b.v[4].error[0] && b.v[4].value == 7.1 && b.v[4].t == o.now);
	CHECK(sensor_parse_line(SENSOR_FMT_CSV, "2024-05-01T02:00:00Z,DO,7,mg/L,S9", 33, 10, NULL,
				&o, &b) == 0);
	CHECK(b.n == 6 && b.v[5].t == 1714528800.0 && !strcmp(b.v[5].sample_id, "S9"));
	CHECK(sensor_parse_line(SENSOR_FMT_CSV, "time,parameter,value,unit", 25, 11, NULL, &o,
				&b) == 0);
	CHECK(b.n == 6);
	CHECK(sensor_parse_line(SENSOR_FMT_CSV, "DO,seven,mg/L", 13, 12, NULL, &o, &b) == 0);
	CHECK(b.n == 7 && strstr(b.v[6].error, "seven") && !b.v[6].has_value);
	sensor_batch_free(&b);
}

/* Lines past the cap and files past the line limit are named, not read
 * beyond their bounds. */
static void test_limits(void)
{
	size_t n = SENSOR_MAX_LINE + 100;
	char *big = xmalloc(n + 64);
	strcpy(big, "time,pH\n");
	size_t k = strlen(big);
	memset(big + k, '7', n);
	k += n;
	big[k++] = '\n';
	struct sensor_batch b;
	char err[256];
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(big, k, &o8, &b, err, sizeof err) == 0);
	CHECK(b.n == 1 && strstr(b.v[0].error, "too long") && strlen(b.v[0].raw) == SENSOR_MAX_LINE);
	sensor_batch_free(&b);
	free(big);
	/* 70 fields in a line */
	char line[512] = "time,pH\n2024-05-01 10:00:00";
	for (int i = 0; i < 70; i++)
		strcat(line, ",1");
	sensor_batch_init(&b);
	CHECK(sensor_parse_csv(line, strlen(line), &o8, &b, err, sizeof err) == 0);
	CHECK(b.n == 1 && b.v[0].error[0]);
	sensor_batch_free(&b);
}

/* Text a message quotes is shown as names are, and cut where it fits
 * without splitting an escape or a character. */
static void test_display_text(void)
{
	char o[16];
	CHECK_STR(ingest_display_text("S\033[31m1", 7, o, sizeof o), "S\\x1B[31m1");
	CHECK_STR(ingest_display_text("a\\b\0c", 5, o, sizeof o), "a\\\\b\\x00c");
	/* C1 controls (U+009B, CSI) as their two bytes; other text as it is */
	CHECK_STR(ingest_display_text("x\xc2\x9by\xc2\xa0", 6, o, sizeof o),
		  "x\\xC2\\x9By\xc2\xa0");
	CHECK_STR(ingest_display_text("\xff\xfe", 2, o, sizeof o), "\\xFF\\xFE");
	/* cut: "abcdef\x1B" does not fit 9 bytes, and the escape is not split */
	CHECK_STR(ingest_display_text("abcdef\033", 7, o, 9), "abcdef");
	CHECK_STR(ingest_display_text("abcdef\033", 7, o, 11), "abcdef\\x1B");
	CHECK_STR(ingest_display_text("abcdefg\xe6\xb0\xb4", 10, o, 10), "abcdefg");
	CHECK_STR(ingest_display_text("abc", 3, o, 1), "");
}

int main(void)
{
	RUN(test_long_form_boundaries);
	RUN(test_wide_form_boundaries);
	RUN(test_sdi12_boundaries);
	RUN(test_malformed_lines);
	RUN(test_header_problems);
	RUN(test_short_rows);
	RUN(test_quoted_line_breaks);
	RUN(test_time_offset_needed);
	RUN(test_times);
	RUN(test_params_and_units);
	RUN(test_sdi12_lines);
	RUN(test_profiles);
	RUN(test_cr_lines);
	RUN(test_time_years);
	RUN(test_gb18030_file);
	RUN(test_stray_bytes);
	RUN(test_live_lines);
	RUN(test_limits);
	RUN(test_display_text);
	T_EXIT();
}
