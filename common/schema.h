/*
 * The database schema as an ordered list of forward migrations. Migration
 * i takes user_version from i-1 to i; migrations never change once
 * released, new ones are appended.
 */
#ifndef EVCAP_SCHEMA_H
#define EVCAP_SCHEMA_H

#include <stddef.h>

struct migration {
	int version;
	const char *sql;
};

extern const struct migration schema_migrations[];
extern const size_t schema_migration_count;

#endif
