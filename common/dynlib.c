/*
 * Libraries opened on first use; see dynlib.h. The handle is never closed:
 * the functions it gave out stay in use until the process ends.
 */
#include "dynlib.h"

#include <dlfcn.h>
#include <string.h>

static int load_locked(struct dynlib *d)
{
	const char *why;
	/* RTLD_NOW: a symbol the library itself needs and cannot find fails
	 * here, once, not as a crash in the middle of a transfer or a parse. */
	void *h = dlopen(d->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		why = dlerror();
		err_set(d->err, sizeof d->err, EV_ERR, "cannot load %s, needed %s: %s", d->soname,
			d->needed, why ? why : "unknown reason");
		return -1;
	}
	for (size_t i = 0; i < d->n; i++) {
		dlerror();
		void *p = dlsym(h, d->syms[i].name);
		if (!p) {
			why = dlerror();
			err_set(d->err, sizeof d->err, EV_ERR, "%s, needed %s, lacks %s: %s",
				d->soname, d->needed, d->syms[i].name, why ? why : "no such symbol");
			return -1; /* h stays open; nothing from it is used */
		}
		memcpy(d->syms[i].slot, &p, sizeof p);
	}
	return 1;
}

int dynlib_load(struct dynlib *d, char *err, size_t errlen)
{
	/* state is written under mu and read here without it; the release
	 * store orders the table's slots before the 1 that publishes them. */
	atomic_int *state = &d->state;
	int s = atomic_load_explicit(state, memory_order_acquire);
	if (s == 0) {
		pthread_mutex_lock(&d->mu);
		s = atomic_load_explicit(state, memory_order_relaxed);
		if (s == 0) {
			s = load_locked(d);
			atomic_store_explicit(state, s, memory_order_release);
		}
		pthread_mutex_unlock(&d->mu);
	}
	if (s > 0)
		return 0;
	return err_set(err, errlen, EV_ERR, "%s", d->err);
}
