/*
 * Weak stand-ins for commands not built into this binary yet; a cmd_*.c
 * that defines the command replaces them at link time.
 */
#include "cli.h"

static int not_built(struct cli *cli)
{
	fprintf(stderr, "evcap %s: not available in this build\n", cli->command);
	return EXIT_USAGE;
}

#define STUB(name) \
	__attribute__((weak)) int name(struct cli *cli, int argc, char **argv) \
	{ (void)argc; (void)argv; return not_built(cli); }

STUB(cmd_site)
STUB(cmd_track)
STUB(cmd_gps)
STUB(cmd_geotag)
STUB(cmd_sensor)
STUB(cmd_readings)
STUB(cmd_visits)
STUB(cmd_revisit)
STUB(cmd_export)
STUB(cmd_sync)
STUB(cmd_pull)
STUB(cmd_key)
