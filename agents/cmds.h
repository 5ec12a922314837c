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
int haven__agt_cmd_bundle(haven__agent *a, const haven__args *args);

/* MARAC and perpetrator panel (marac_cmd.c, cases.c, dapp_cmd.c) */
int haven__agt_cmd_marac_refer(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_consent(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_research(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_plan(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_update(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_flag(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_cases(haven__agent *a, const haven__args *args);
int haven__agt_cmd_marac_caselist(haven__agent *a, const haven__args *args);
int haven__agt_cmd_dapp_refer(haven__agent *a, const haven__args *args);
int haven__agt_cmd_dapp_bundle(haven__agent *a, const haven__args *args);
int haven__agt_cmd_dapp_plan(haven__agent *a, const haven__args *args);

#endif /* HAVEN_AGENTS_CMDS_H */
