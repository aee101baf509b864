/*
 * Shared libraries opened the first time they are needed, not at start.
 * libcurl (sync) and libxml2 (GPX) bring about thirty more libraries with
 * them (TLS, Kerberos, LDAP, ICU...), and mapping and relocating them took
 * about 5 ms of every evcap command, most of which use neither. Each module
 * that uses one of them lists the functions it calls in a table and calls
 * dynlib_load before its first use; a library that cannot be opened is an
 * error naming it and what it is needed for, and the program goes on
 * without that feature.
 *
 * Thread safety: dynlib_load may be called from any thread; the first call
 * opens the library and fills the table, later calls only read the outcome.
 */
#ifndef EVCAP_DYNLIB_H
#define EVCAP_DYNLIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "util.h"

/* One symbol to look up. `slot` is the address of the pointer that receives
 * it: a function pointer (or, for a variable such as libxml2's xmlFree, a
 * pointer to it). POSIX guarantees that function and object pointers have
 * the same size and representation, which dlsym relies on too. */
struct dynlib_sym {
	const char *name;
	void *slot;
};

/* A library and its table. Define one per library as a static object, with
 * DYNLIB_INIT; the fields after `n` are dynlib_load's own. */
struct dynlib {
	const char *soname; /* what dlopen is given, e.g. "libcurl.so.4" */
	const char *needed; /* for messages: "to sync", "to read GPX tracks" */
	const struct dynlib_sym *syms;
	size_t n;
	pthread_mutex_t mu;
	atomic_int state;   /* 0 not tried, 1 loaded, -1 failed (err says why) */
	char err[300];
};

/*
 * A module lists each function once, in an X-macro, and builds both its
 * table of pointers and the names to look up from that list, so the two
 * cannot disagree: with LIST(X) expanding to X(global_init) X(easy_init)...,
 *   #define CU_PTR(f) DYNLIB_PTR(curl_, f)
 *   static struct { LIST(CU_PTR) } cu;
 *   #define CU_SYM(f) DYNLIB_SYM(cu, curl_, f)
 *   static const struct dynlib_sym cu_syms[] = { LIST(CU_SYM) };
 * Each pointer gets the type of the library's own declaration of
 * prefix##f (a variable, such as libxml2's xmlFree, gets a pointer to it).
 */
#define DYNLIB_PTR(prefix, f) __typeof__(prefix##f) *f;
#define DYNLIB_SYM(table, prefix, f) {#prefix #f, &(table).f},

#define DYNLIB_INIT(soname_, needed_, syms_)                                                  \
	{                                                                                     \
		.soname = (soname_), .needed = (needed_), .syms = (syms_),                     \
		.n = sizeof(syms_) / sizeof((syms_)[0]), .mu = PTHREAD_MUTEX_INITIALIZER       \
	}

/*
 * Opens the library and fills every slot of its table, once. 0 when every
 * symbol was found; otherwise EV_ERR with err saying which library, what
 * for, and dlopen's or dlsym's reason (the same answer on every later call).
 */
int dynlib_load(struct dynlib *d, char *err, size_t errlen) WUR;

#endif
