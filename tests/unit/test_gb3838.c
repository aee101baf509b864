/*
 * GB 3838-2002 classes at and around every class limit of every basic
 * parameter, for rivers and for lakes. The expected classes come from the
 * test's own transcription of Table 1 below (kept apart from the code's
 * table on purpose) and from hand-written rows for the cases a field team
 * meets.
 */
#include <math.h>

#include "gb3838.h"
#include "t.h"

/* Table 1, typed again from the standard: kind 'M' = upper limit ("≤"),
 * 'm' = lower limit ("≥", dissolved oxygen). A lake row of zeros means
 * "as for rivers"; lake_only rows are not classed in rivers. */
static const struct {
	const char *id;
	char kind;
	int lake_only;
	double river[5], lake[5];
} oracle[] = {
	{"do", 'm', 0, {7.5, 6, 5, 3, 2}, {0}},
	{"codmn", 'M', 0, {2, 4, 6, 10, 15}, {0}},
	{"cod", 'M', 0, {15, 15, 20, 30, 40}, {0}},
	{"bod5", 'M', 0, {3, 3, 4, 6, 10}, {0}},
	{"nh3n", 'M', 0, {0.15, 0.5, 1.0, 1.5, 2.0}, {0}},
	{"tp", 'M', 0, {0.02, 0.1, 0.2, 0.3, 0.4}, {0.01, 0.025, 0.05, 0.1, 0.2}},
	{"tn", 'M', 1, {0}, {0.2, 0.5, 1.0, 1.5, 2.0}},
	{"cu", 'M', 0, {0.01, 1.0, 1.0, 1.0, 1.0}, {0}},
	{"zn", 'M', 0, {0.05, 1.0, 1.0, 2.0, 2.0}, {0}},
	{"f", 'M', 0, {1.0, 1.0, 1.0, 1.5, 1.5}, {0}},
	{"se", 'M', 0, {0.01, 0.01, 0.01, 0.02, 0.02}, {0}},
	{"as", 'M', 0, {0.05, 0.05, 0.05, 0.1, 0.1}, {0}},
	{"hg", 'M', 0, {0.00005, 0.00005, 0.0001, 0.001, 0.001}, {0}},
	{"cd", 'M', 0, {0.001, 0.005, 0.005, 0.005, 0.01}, {0}},
	{"cr6", 'M', 0, {0.01, 0.05, 0.05, 0.05, 0.1}, {0}},
	{"pb", 'M', 0, {0.01, 0.01, 0.05, 0.05, 0.1}, {0}},
	{"cn", 'M', 0, {0.005, 0.05, 0.2, 0.2, 0.2}, {0}},
	{"phenol", 'M', 0, {0.002, 0.002, 0.005, 0.01, 0.1}, {0}},
	{"oil", 'M', 0, {0.05, 0.05, 0.05, 0.5, 1.0}, {0}},
	{"las", 'M', 0, {0.2, 0.2, 0.2, 0.3, 0.3}, {0}},
	{"s2", 'M', 0, {0.05, 0.1, 0.2, 0.5, 1.0}, {0}},
	{"fcoli", 'M', 0, {200, 2000, 10000, 20000, 40000}, {0}},
};

/* The class the oracle gives v: the best class whose limit v meets. */
static int expect(int row, int lake, double v)
{
	const double *lim = lake && oracle[row].lake[0] > 0 ? oracle[row].lake : oracle[row].river;
	for (int k = 0; k < 5; k++)
		if (oracle[row].kind == 'M' ? v <= lim[k] : v >= lim[k])
			return k + 1;
	return 6;
}

static int failures_shown;

static void check_one(const char *id, int lake, double v, int want)
{
	enum gb3838_class got = GB3838_NONE;
	int rc = gb3838_classify(id, v, lake ? GB3838_LAKE : GB3838_RIVER, &got);
	if (rc != 0 || (int)got != want) {
		if (failures_shown++ < 20)
			printf("# %s %s %.17g: got %s (rc %d), want %s\n", id, lake ? "lake" : "river",
			       v, gb3838_class_name(got) ? gb3838_class_name(got) : "none", rc,
			       gb3838_class_name((enum gb3838_class)want));
		t_fail_count++;
	}
}

/* Every limit: exactly at it, the nearest doubles either side, and 1%
 * either side. */
static void test_every_boundary(void)
{
	size_t checked = 0;
	for (int row = 0; row < (int)ARRAY_LEN(oracle); row++)
		for (int lake = 0; lake <= 1; lake++) {
			if (oracle[row].lake_only && !lake)
				continue;
			const double *lim = lake && oracle[row].lake[0] > 0 ? oracle[row].lake
									    : oracle[row].river;
			for (int k = 0; k < 5; k++) {
				double L = lim[k];
				double probes[] = {L, nextafter(L, INFINITY), nextafter(L, -INFINITY),
						   L * 1.01, L * 0.99};
				for (size_t p = 0; p < ARRAY_LEN(probes); p++) {
					check_one(oracle[row].id, lake, probes[p],
						  expect(row, lake, probes[p]));
					checked++;
				}
			}
		}
	CHECK(checked > 600);
}

/* Rows a reader can check against the standard by eye. */
static void test_hand_rows(void)
{
	static const struct {
		const char *id;
		int lake;
		double v;
		const char *want;
	} rows[] = {
		{"nh3n", 0, 2.3, "劣V"},   /* the rapid-test kit at the outfall */
		{"nh3n", 0, 2.0, "V"},     {"nh3n", 0, 0.15, "I"},   {"nh3n", 0, 0.16, "II"},
		{"nh3n", 0, 1.0, "III"},   {"nh3n", 0, 1.01, "IV"},
		{"do", 0, 7.5, "I"},       {"do", 0, 7.49, "II"},    {"do", 0, 6, "II"},
		{"do", 0, 5.99, "III"},    {"do", 0, 5, "III"},      {"do", 0, 3, "IV"},
		{"do", 0, 2.99, "V"},      {"do", 0, 2, "V"},        {"do", 0, 1.99, "劣V"},
		{"do", 1, 12, "I"},
		{"ph", 0, 6, "I"},         {"ph", 0, 9, "I"},        {"ph", 0, 5.99, "劣V"},
		{"ph", 0, 9.01, "劣V"},    {"ph", 1, 7, "I"},
		{"tp", 0, 0.02, "I"},      {"tp", 1, 0.02, "II"},    {"tp", 0, 0.1, "II"},
		{"tp", 1, 0.1, "IV"},      {"tp", 0, 0.2, "III"},    {"tp", 1, 0.2, "V"},
		{"tp", 1, 0.21, "劣V"},    {"tp", 0, 0.41, "劣V"},   {"tp", 1, 0.025, "II"},
		{"tn", 1, 0.2, "I"},       {"tn", 1, 2.0, "V"},      {"tn", 1, 2.01, "劣V"},
		{"cod", 0, 15, "I"},       {"cod", 0, 15.5, "III"},  {"cod", 0, 40.1, "劣V"},
		{"codmn", 0, 15, "V"},     {"codmn", 0, 15.1, "劣V"},
		{"bod5", 0, 3, "I"},       {"bod5", 0, 3.1, "III"},
		{"fcoli", 0, 40000, "V"},  {"fcoli", 0, 40001, "劣V"},
		{"hg", 0, 0.0001, "III"},  {"cd", 0, 0.001, "I"},    {"cd", 0, 0.002, "II"},
	};
	for (size_t i = 0; i < ARRAY_LEN(rows); i++) {
		enum gb3838_class c = GB3838_NONE;
		int rc = gb3838_classify(rows[i].id, rows[i].v,
					 rows[i].lake ? GB3838_LAKE : GB3838_RIVER, &c);
		CHECK(rc == 0);
		if (rc == 0 && strcmp(gb3838_class_name(c), rows[i].want) != 0) {
			printf("# %s %g: %s, want %s\n", rows[i].id, rows[i].v, gb3838_class_name(c),
			       rows[i].want);
			t_fail_count++;
		}
	}
}

static void test_not_classed(void)
{
	enum gb3838_class c = GB3838_III;
	CHECK(gb3838_classify("tn", 0.1, GB3838_RIVER, &c) == EV_ENOENT);
	CHECK(c == GB3838_III);
	CHECK(gb3838_classify("temp", 20, GB3838_RIVER, &c) == EV_ENOENT);
	CHECK(gb3838_classify("cond", 300, GB3838_LAKE, &c) == EV_ENOENT);
	CHECK(gb3838_classify("nosuch", 1, GB3838_LAKE, &c) == EV_ENOENT);
	CHECK(gb3838_classify("nh3n", NAN, GB3838_RIVER, &c) == EV_EINVAL);
	CHECK(gb3838_classed("tn", GB3838_LAKE));
	CHECK(!gb3838_classed("tn", GB3838_RIVER));
	CHECK(gb3838_classed("do", GB3838_RIVER));
}

static void test_names_and_worst(void)
{
	enum gb3838_class v[] = {GB3838_II, GB3838_NONE, GB3838_IV, GB3838_I};
	CHECK(gb3838_worst(v, 4) == GB3838_IV);
	CHECK(gb3838_worst(v, 2) == GB3838_II);
	CHECK(gb3838_worst(NULL, 0) == GB3838_NONE);
	enum gb3838_class w[] = {GB3838_V, GB3838_WORSE_V};
	CHECK(gb3838_worst(w, 2) == GB3838_WORSE_V);
	CHECK_STR(gb3838_class_name(GB3838_WORSE_V), "劣V");
	CHECK(gb3838_class_name(GB3838_NONE) == NULL);
	for (int k = 1; k <= 6; k++)
		CHECK((int)gb3838_class_parse(gb3838_class_name((enum gb3838_class)k)) == k);
	CHECK(gb3838_class_parse("Ⅲ") == GB3838_III);
	CHECK(gb3838_class_parse("VI") == GB3838_NONE);
	CHECK(gb3838_class_parse(NULL) == GB3838_NONE);
	enum gb3838_water wb;
	CHECK(gb3838_water_parse("reservoir", &wb) == 0 && wb == GB3838_LAKE);
	CHECK(gb3838_water_parse("river", &wb) == 0 && wb == GB3838_RIVER);
	CHECK(gb3838_water_parse("sea", &wb) == EV_EINVAL);
	CHECK(strstr(GB3838_SCREENING_LABEL, "laboratory") != NULL);
}

int main(void)
{
	RUN(test_every_boundary);
	RUN(test_hand_rows);
	RUN(test_not_classed);
	RUN(test_names_and_worst);
	T_EXIT();
}
