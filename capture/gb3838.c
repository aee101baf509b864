/*
 * GB 3838-2002 Table 1 (地表水环境质量标准基本项目标准限值) as data, and the
 * comparison rules the standard implies: upper limits ("≤") for most
 * items, lower limits ("≥") for dissolved oxygen, a range for pH.
 */
#include <math.h>
#include <string.h>

#include "gb3838.h"

enum limit_kind {
	LIM_MAX,   /* value <= limit meets the class */
	LIM_MIN,   /* value >= limit meets the class (dissolved oxygen) */
	LIM_RANGE  /* lo <= value <= hi meets every class (pH) */
};

struct limits {
	const char *param;     /* evcap parameter id */
	enum limit_kind kind;
	int lake_only;         /* judged only in lakes and reservoirs */
	double river[5];       /* classes I..V */
	double lake[5];        /* lakes and reservoirs; all 0 = as river */
};

/*
 * Transcribed from GB 3838-2002, Table 1 "地表水环境质量标准基本项目标准限值"
 * (units mg/L except pH, which has none, and faecal coliforms, 个/L).
 * Item 1, water temperature, limits a man-made change over a week
 * (weekly mean rise ≤ 1 °C, fall ≤ 2 °C), which one reading cannot judge,
 * so it has no row. Where two classes share a limit (COD I and II are
 * both 15), a value at that limit meets the better class. Dissolved
 * oxygen class I is "saturation 90% (or 7.5)"; the mg/L form is used.
 */
static const struct limits table1[] = {
	/* 2 pH 6~9 for every class */
	{"ph", LIM_RANGE, 0, {6, 9, 0, 0, 0}, {0}},
	/* 3 溶解氧 ≥ */
	{"do", LIM_MIN, 0, {7.5, 6, 5, 3, 2}, {0}},
	/* 4 高锰酸盐指数 ≤ */
	{"codmn", LIM_MAX, 0, {2, 4, 6, 10, 15}, {0}},
	/* 5 化学需氧量 (COD) ≤ */
	{"cod", LIM_MAX, 0, {15, 15, 20, 30, 40}, {0}},
	/* 6 五日生化需氧量 (BOD5) ≤ */
	{"bod5", LIM_MAX, 0, {3, 3, 4, 6, 10}, {0}},
	/* 7 氨氮 (NH3-N) ≤ */
	{"nh3n", LIM_MAX, 0, {0.15, 0.5, 1.0, 1.5, 2.0}, {0}},
	/* 8 总磷 (以P计) ≤, 湖、库 in brackets in the standard */
	{"tp", LIM_MAX, 0, {0.02, 0.1, 0.2, 0.3, 0.4}, {0.01, 0.025, 0.05, 0.1, 0.2}},
	/* 9 总氮 (湖、库, 以N计) ≤ */
	{"tn", LIM_MAX, 1, {0.2, 0.5, 1.0, 1.5, 2.0}, {0.2, 0.5, 1.0, 1.5, 2.0}},
	/* 10 铜 ≤ */
	{"cu", LIM_MAX, 0, {0.01, 1.0, 1.0, 1.0, 1.0}, {0}},
	/* 11 锌 ≤ */
	{"zn", LIM_MAX, 0, {0.05, 1.0, 1.0, 2.0, 2.0}, {0}},
	/* 12 氟化物 (以F-计) ≤ */
	{"f", LIM_MAX, 0, {1.0, 1.0, 1.0, 1.5, 1.5}, {0}},
	/* 13 硒 ≤ */
	{"se", LIM_MAX, 0, {0.01, 0.01, 0.01, 0.02, 0.02}, {0}},
	/* 14 砷 ≤ */
	{"as", LIM_MAX, 0, {0.05, 0.05, 0.05, 0.1, 0.1}, {0}},
	/* 15 汞 ≤ */
	{"hg", LIM_MAX, 0, {0.00005, 0.00005, 0.0001, 0.001, 0.001}, {0}},
	/* 16 镉 ≤ */
	{"cd", LIM_MAX, 0, {0.001, 0.005, 0.005, 0.005, 0.01}, {0}},
	/* 17 铬 (六价) ≤ */
	{"cr6", LIM_MAX, 0, {0.01, 0.05, 0.05, 0.05, 0.1}, {0}},
	/* 18 铅 ≤ */
	{"pb", LIM_MAX, 0, {0.01, 0.01, 0.05, 0.05, 0.1}, {0}},
	/* 19 氰化物 ≤ */
	{"cn", LIM_MAX, 0, {0.005, 0.05, 0.2, 0.2, 0.2}, {0}},
	/* 20 挥发酚 ≤ */
	{"phenol", LIM_MAX, 0, {0.002, 0.002, 0.005, 0.01, 0.1}, {0}},
	/* 21 石油类 ≤ */
	{"oil", LIM_MAX, 0, {0.05, 0.05, 0.05, 0.5, 1.0}, {0}},
	/* 22 阴离子表面活性剂 ≤ */
	{"las", LIM_MAX, 0, {0.2, 0.2, 0.2, 0.3, 0.3}, {0}},
	/* 23 硫化物 ≤ */
	{"s2", LIM_MAX, 0, {0.05, 0.1, 0.2, 0.5, 1.0}, {0}},
	/* 24 粪大肠菌群 (个/L) ≤ */
	{"fcoli", LIM_MAX, 0, {200, 2000, 10000, 20000, 40000}, {0}},
};

static const struct limits *gb3838_find(const char *param)
{
	if (!param)
		return NULL;
	for (size_t i = 0; i < ARRAY_LEN(table1); i++)
		if (strcmp(table1[i].param, param) == 0)
			return &table1[i];
	return NULL;
}

int gb3838_classed(const char *param, enum gb3838_water water)
{
	const struct limits *l = gb3838_find(param);
	return l && (!l->lake_only || water == GB3838_LAKE);
}

int gb3838_classify(const char *param, double value, enum gb3838_water water,
		    enum gb3838_class *out)
{
	const struct limits *l = gb3838_find(param);
	if (!l || (l->lake_only && water != GB3838_LAKE))
		return EV_ENOENT;
	if (!isfinite(value))
		return EV_EINVAL;
	const double *lim = water == GB3838_LAKE && l->lake[0] > 0 ? l->lake : l->river;
	switch (l->kind) {
	case LIM_RANGE:
		*out = value >= lim[0] && value <= lim[1] ? GB3838_I : GB3838_WORSE_V;
		return 0;
	case LIM_MIN:
		for (int k = 0; k < 5; k++)
			if (value >= lim[k]) {
				*out = (enum gb3838_class)(k + 1);
				return 0;
			}
		break;
	case LIM_MAX:
		for (int k = 0; k < 5; k++)
			if (value <= lim[k]) {
				*out = (enum gb3838_class)(k + 1);
				return 0;
			}
		break;
	}
	*out = GB3838_WORSE_V;
	return 0;
}

static const char *const class_names[] = {NULL, "I", "II", "III", "IV", "V", "劣V"};

const char *gb3838_class_name(enum gb3838_class c)
{
	return (int)c >= 1 && (int)c <= 6 ? class_names[c] : NULL;
}

enum gb3838_class gb3838_class_parse(const char *s)
{
	static const struct {
		const char *name;
		enum gb3838_class c;
	} alt[] = {
		{"Ⅰ", GB3838_I}, {"Ⅱ", GB3838_II}, {"Ⅲ", GB3838_III}, {"Ⅳ", GB3838_IV},
		{"Ⅴ", GB3838_V}, {"劣Ⅴ", GB3838_WORSE_V}, {"1", GB3838_I}, {"2", GB3838_II},
		{"3", GB3838_III}, {"4", GB3838_IV}, {"5", GB3838_V}, {"worse than V", GB3838_WORSE_V},
	};
	if (!s)
		return GB3838_NONE;
	for (int k = 1; k <= 6; k++)
		if (strcmp(s, class_names[k]) == 0)
			return (enum gb3838_class)k;
	for (size_t i = 0; i < ARRAY_LEN(alt); i++)
		if (strcmp(s, alt[i].name) == 0)
			return alt[i].c;
	return GB3838_NONE;
}

enum gb3838_class gb3838_worst(const enum gb3838_class *v, size_t n)
{
	enum gb3838_class w = GB3838_NONE;
	for (size_t i = 0; i < n; i++)
		if (v[i] > w && v[i] <= GB3838_WORSE_V)
			w = v[i];
	return w;
}

int gb3838_water_parse(const char *s, enum gb3838_water *out)
{
	static const char *const rivers[] = {"river", "河", "河流", "stream", "canal", "渠"};
	static const char *const lakes[] = {"lake", "reservoir", "湖", "库", "湖库", "湖泊", "水库"};
	if (!s)
		return EV_EINVAL;
	for (size_t i = 0; i < ARRAY_LEN(rivers); i++)
		if (strcmp(s, rivers[i]) == 0) {
			*out = GB3838_RIVER;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_LEN(lakes); i++)
		if (strcmp(s, lakes[i]) == 0) {
			*out = GB3838_LAKE;
			return 0;
		}
	return EV_EINVAL;
}
