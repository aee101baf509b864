/* Unit tests for the config parser against files a careless edit or a
 * hostile hand could produce. */
#include <string.h>

#include "buf.h"
#include "config.h"
#include "t.h"
#include "util.h"

/* A single-valued key given twice is refused with both lines named; the
 * later value used to replace the earlier one without a word. */
static void test_config_key_twice(void)
{
	struct config c;
	char err[512];
	const char *twice = "[store]\npath = /var/lib/evcap\ncase = 2025-001\n\n"
			    "[gps]\nmax_gap = 30\n[store]\npath = /tmp/elsewhere\n";
	config_init(&c);
	CHECK(config_parse(twice, strlen(twice), "evcap.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "evcap.conf:8: 'path' in [store] is already set on line 2; it takes one "
		       "value, so remove one of the two");
	config_free(&c);

	const char *num = "[gps]\nmax_gap = 30\nmax_gap = 90\n";
	config_init(&c);
	CHECK(config_parse(num, strlen(num), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK(strncmp(err, "x.conf:3: 'max_gap' in [gps] is already set on line 2", 53) == 0);
	config_free(&c);

	/* list keys take one value a line, as before */
	const char *list = "[store]\noperator = A\noperator = B\n[capture]\nwatch = /media\n"
			   "watch = /mnt\n";
	config_init(&c);
	CHECK(config_parse(list, strlen(list), "x.conf", &c, err, sizeof err) == 0);
	CHECK(c.n_operators == 2 && c.n_watch == 2);
	config_free(&c);

	/* the same key in two sections is two keys */
	const char *two = "[gps]\nmax_gap = 30\nmax_extrapolate = 5\n";
	config_init(&c);
	CHECK(config_parse(two, strlen(two), "x.conf", &c, err, sizeof err) == 0);
	CHECK(c.max_gap == 30.0 && c.max_extrapolate == 5.0);
	config_free(&c);
}

/* A watched folder is named from the root, in a path the system takes:
 * said with its line, as any bad value (the daemon's own check named no
 * line, and a path of 70,000 bytes passed --check-config). */
static void test_config_watch(void)
{
	struct config c;
	char err[512];
	const char *rel = "[capture]\nsettle_seconds = 1\nwatch = media/cards\n";
	config_init(&c);
	CHECK(config_parse(rel, strlen(rel), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "x.conf:3: watch must be an absolute path, not 'media/cards'");
	config_free(&c);
	struct buf b;
	buf_init(&b, 1 << 20);
	CHECK(buf_puts(&b, "[capture]\nwatch = /") == 0);
	for (int i = 0; i < 70000; i++)
		CHECK(buf_puts(&b, "a") == 0);
	CHECK(buf_puts(&b, "\n") == 0);
	config_init(&c);
	CHECK(config_parse(b.data, b.len, "x.conf", &c, err, sizeof err) == EV_ELIMIT);
	CHECK(strstr(err, "x.conf:2: watch is a path of 70001 bytes; a path has at most 4095") ==
	      err);
	config_free(&c);
	buf_free(&b);
}

/* A file saved by Windows Notepad: a UTF-8 byte-order mark and CR LF. */
static void test_config_notepad(void)
{
	struct config c;
	char err[512] = "";
	const char *np = "\xef\xbb\xbf[store]\r\npath = /var/lib/evcap\r\noperator = 张三\r\n"
			 "\r\n[gps]\r\nmax_gap = 30\r\n";
	config_init(&c);
	CHECK(config_parse(np, strlen(np), "evcap.conf", &c, err, sizeof err) == 0);
	CHECK_STR(err, "");
	CHECK_STR(c.store, "/var/lib/evcap");
	CHECK(c.n_operators == 1 && strcmp(c.operators[0], "张三") == 0);
	CHECK(c.max_gap == 30.0);
	config_free(&c);
	/* a mark anywhere else is not skipped */
	const char *mid = "[store]\n\xef\xbb\xbfpath = /x\n";
	config_init(&c);
	CHECK(config_parse(mid, strlen(mid), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK(strncmp(err, "x.conf:2: unknown key", 21) == 0);
	config_free(&c);
}

/* A control character anywhere (an escape sequence in a value would be
 * shown in the error naming it) is refused, naming its line; a tab is
 * text. */
static void test_config_control(void)
{
	struct config c;
	char err[512];
	const char *esc = "[store]\noperator = A\n[gps]\nserver = \x1b[2Jlocalhost:2947\n";
	config_init(&c);
	CHECK(config_parse(esc, strlen(esc), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "x.conf:4: holds a control character (U+001B); a setting is plain text");
	config_free(&c);
	const char *c1 = "[store]\n\xc2\x9b" "2Jpath = /x\n";
	config_init(&c);
	CHECK(config_parse(c1, strlen(c1), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "x.conf:2: holds a control character (U+009B); a setting is plain text");
	config_free(&c);
	/* an operator's name with a right-to-left override would turn the
	 * names after it around in every report */
	const char *rlo = "[store]\npath = /x\noperator = \xe7\x8e\x8b\xe4\xba\x94\xe2\x80\xae\n";
	config_init(&c);
	CHECK(config_parse(rlo, strlen(rlo), "x.conf", &c, err, sizeof err) == EV_EINVAL);
	CHECK_STR(err, "x.conf:3: holds a text-direction control (U+202E); a setting is plain text");
	config_free(&c);
	const char *tab = "[store]\npath =\t/x\t\n";
	config_init(&c);
	CHECK(config_parse(tab, strlen(tab), "x.conf", &c, err, sizeof err) == 0);
	CHECK_STR(c.store, "/x");
	config_free(&c);
}

int main(void)
{
	RUN(test_config_key_twice);
	RUN(test_config_notepad);
	RUN(test_config_control);
	RUN(test_config_watch);
	T_EXIT();
}
