/*
 * Water quality classes of China's surface water standard, GB 3838-2002
 * (地表水环境质量标准), for the basic items of its Table 1. A pure lookup:
 * a parameter id, a value in the parameter's canonical unit (mg/L, pH
 * units, 个/L) and the kind of water body give the best class whose limit
 * the value meets, or 劣V when it meets none.
 *
 * Every class given here is a rapid-screening result from field
 * instruments and must be confirmed by a laboratory before it is relied
 * on (GB3838_SCREENING_LABEL says so in the words evcap prints).
 */
#ifndef EVCAP_GB3838_H
#define EVCAP_GB3838_H

#include <stddef.h>

#include "util.h"

/* The classes, best first; GB3838_NONE means "not classed". */
enum gb3838_class {
	GB3838_NONE = 0,
	GB3838_I = 1,
	GB3838_II = 2,
	GB3838_III = 3,
	GB3838_IV = 4,
	GB3838_V = 5,
	GB3838_WORSE_V = 6 /* 劣V: worse than class V */
};

/* The kind of water body: total phosphorus has its own limits for lakes
 * and reservoirs, and total nitrogen is judged only there. */
enum gb3838_water { GB3838_RIVER = 0, GB3838_LAKE = 1 };

#define GB3838_SCREENING_LABEL \
	"现场快速检测筛查结果，须经实验室检测确认 (rapid field screening; to be confirmed by a laboratory)"

/*
 * The class of one value of parameter `param` (an evcap parameter id such
 * as "nh3n", see capture/sensor.h). Returns 0 and sets *out, or EV_ENOENT
 * when the standard gives this parameter no class in this water body
 * (water temperature; total nitrogen in a river; parameters outside Table
 * 1), or EV_EINVAL for a non-finite value.
 */
int gb3838_classify(const char *param, double value, enum gb3838_water water,
		    enum gb3838_class *out) WUR;

/* 1 if the standard classes `param` in this water body, else 0. */
int gb3838_classed(const char *param, enum gb3838_water water);

/* "I", "II", "III", "IV", "V", "劣V", or NULL for GB3838_NONE. */
const char *gb3838_class_name(enum gb3838_class c);
/* The inverse of gb3838_class_name ("Ⅲ" and "3" are accepted too);
 * GB3838_NONE for anything else, NULL included. */
enum gb3838_class gb3838_class_parse(const char *s);

/* The worst of n classes, ignoring GB3838_NONE (a sample's class is its
 * worst parameter's); GB3838_NONE when none is classed. */
enum gb3838_class gb3838_worst(const enum gb3838_class *v, size_t n);

/* "river" or "lake" (also "reservoir", 湖, 库, 河) into *out; 0 or EV_EINVAL. */
int gb3838_water_parse(const char *s, enum gb3838_water *out) WUR;

#endif
