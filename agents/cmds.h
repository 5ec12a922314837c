/*
 * agents/cmds.h: the haven-agent commands. Each returns the process exit
 * code (out.h) and reports its own errors.
 */
#ifndef HAVEN_AGENTS_CMDS_H
#define HAVEN_AGENTS_CMDS_H

#include "agent.h"
#include "args.h"

int haven__agt_cmd_encompass_submit(haven__agent *a, const haven__args *args);
int haven__agt_cmd_sync(haven__agent *a, const haven__args *args);
int haven__agt_cmd_run(haven__agent *a, const haven__args *args);
int haven__agt_cmd_inbox(haven__agent *a, const haven__args *args);
int haven__agt_cmd_show(haven__agent *a, const haven__args *args);
int haven__agt_cmd_read(haven__agent *a, const haven__args *args);

#endif /* HAVEN_AGENTS_CMDS_H */
