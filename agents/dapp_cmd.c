/*
 * agents/dapp_cmd.c: the perpetrator-panel commands of haven-agent
 *   dapp refer FILE   M12 DAPP_REFERRAL (police, probation, MCO, IDVA ->
 *                     the panel co-chairs of the perpetrator's area)
 *   dapp bundle FILE  M13 DAPP_BUNDLE (co-chairs -> that area's panel)
 *   dapp plan FILE    M14 DAPP_ACTION_PLAN (co-chairs -> that panel)
 *
 * All three go through the MARAC machinery of marac_cmd.c: validated by
 * haven_marac_from_json (R16: open to MAPPA or no MARAC history is refused
 * before anything is sent; the broker checks the same tags and R17 panel
 * membership on the recipients' directory attributes), pseudonymised,
 * written to the outbox before sending, receipts reported, exit 0 / 2
 * refused / 1 other.
 */
#include "cases.h"
#include "cmds.h"

int
haven__agt_cmd_dapp_refer(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_submit(a, HAVEN_MSG_DAPP_REFERRAL,
	    args->pos[2]));
}

int
haven__agt_cmd_dapp_bundle(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_submit(a, HAVEN_MSG_DAPP_BUNDLE,
	    args->pos[2]));
}

int
haven__agt_cmd_dapp_plan(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_submit(a, HAVEN_MSG_DAPP_ACTION_PLAN,
	    args->pos[2]));
}
