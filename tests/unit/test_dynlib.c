/* Unit tests for dynlib: a library's table is filled once, from any number
 * of threads at once; a library or a symbol that cannot be found is an
 * error naming it, given again on every later call. */
#include <pthread.h>

#include "dynlib.h"
#include "t.h"

static struct {
	double (*cos)(double);
	double (*sqrt)(double);
} m;
static const struct dynlib_sym m_syms[] = {{"cos", &m.cos}, {"sqrt", &m.sqrt}};

static void test_load(void)
{
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", "to test", m_syms);
	char err[400] = "";
	CHECK(dynlib_load(&lib, err, sizeof err) == 0);
	CHECK(m.cos && m.sqrt);
	if (m.cos && m.sqrt) {
		CHECK(m.cos(0.0) == 1.0);
		CHECK(m.sqrt(16.0) == 4.0);
	}
	double (*first)(double) = m.cos;
	CHECK(dynlib_load(&lib, err, sizeof err) == 0); /* again: nothing changes */
	CHECK(m.cos == first);
}

static void test_no_library(void)
{
	static double (*f)(double);
	static const struct dynlib_sym syms[] = {{"cos", &f}};
	static struct dynlib lib = DYNLIB_INIT("libevcap-no-such-library.so.7", "to test", syms);
	char err[400] = "";
	CHECK(dynlib_load(&lib, err, sizeof err) == EV_ERR);
	CHECK(strstr(err, "cannot load libevcap-no-such-library.so.7, needed to test: ") == err);
	CHECK(f == NULL);
	char err2[400] = "";
	CHECK(dynlib_load(&lib, err2, sizeof err2) == EV_ERR); /* not retried, same answer */
	CHECK_STR(err2, err);
	CHECK(dynlib_load(&lib, NULL, 0) == EV_ERR); /* no error buffer is fine */
}

static void test_missing_symbol(void)
{
	static void (*a)(void), (*b)(void);
	static const struct dynlib_sym syms[] = {{"cos", &a}, {"evcap_no_such_symbol", &b}};
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", "to test", syms);
	char err[400] = "";
	CHECK(dynlib_load(&lib, err, sizeof err) == EV_ERR);
	CHECK(strstr(err, "libm.so.6, needed to test, lacks evcap_no_such_symbol") == err);
	CHECK(b == NULL);
}

/* Many threads asking at once: every one is answered 0, and all see the
 * same filled table. */
static struct {
	double (*floor)(double);
	double (*ceil)(double);
} r;
static const struct dynlib_sym r_syms[] = {{"floor", &r.floor}, {"ceil", &r.ceil}};
static struct dynlib race_lib = DYNLIB_INIT("libm.so.6", "to test", r_syms);

static void *race(void *arg)
{
	int *ok = arg;
	char err[400];
	*ok = dynlib_load(&race_lib, err, sizeof err) == 0 && r.floor && r.floor(2.5) == 2.0 &&
	      r.ceil(2.5) == 3.0;
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[8];
	int ok[8] = {0};
	int started[8] = {0};
	for (int i = 0; i < 8; i++)
		started[i] = pthread_create(&th[i], NULL, race, &ok[i]) == 0;
	for (int i = 0; i < 8; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		CHECK(started[i] && ok[i]);
	}
}

int main(void)
{
	RUN(test_load);
	RUN(test_no_library);
	RUN(test_missing_symbol);
	RUN(test_threads);
	return t_any_failed;
}
