/*
 * tools/dircal_cmd.h: `havenctl directory calendar` (tools/dircal_cmd.c),
 * registered in the subcommand table of tools/directory_cmd.c.
 */
#ifndef HAVEN_TOOLS_DIRCAL_CMD_H
#define HAVEN_TOOLS_DIRCAL_CMD_H

#include "cli.h"

extern const char haven__dircal_usage[];

/** Run `directory calendar`; returns the exit code (see cli.h). */
int haven__ctl_directory_calendar(haven__cli *cli, int argc, char **argv);

#endif /* HAVEN_TOOLS_DIRCAL_CMD_H */
