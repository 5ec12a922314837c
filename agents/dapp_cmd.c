/*
 * agents/dapp_cmd.c: the perpetrator-panel commands of haven-agent
 *   dapp refer FILE   M12 DAPP_REFERRAL (police, probation, MCO, IDVA ->
 *                     the panel co-chairs of the perpetrator's area)
 *   dapp bundle FILE  M13 DAPP_BUNDLE (co-chairs -> that area's panel)
 *   dapp plan FILE    M14 DAPP_ACTION_PLAN (co-chairs -> that panel)
 *
 * All three go through the MARAC machinery of marac_cmd.c: the content
 * is validated here, the rules (R16: open to MAPPA or no MARAC history;
 * R17: the area's panel only, from its co-chairs; R8: never a school) are
 * the broker's, which refuses naming the rule and audits the refusal;
 * pseudonymised, written to the outbox before sending, receipts reported,
 * exit 0 / 2 refused / 1 other. --check runs every rule here and sends
 * nothing.
 */
#include "cases.h"
#include "cmds.h"
#include "marac_cmd.h"

int
haven__agt_cmd_dapp_refer(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_DAPP_REFERRAL, args));
}

int
haven__agt_cmd_dapp_bundle(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_DAPP_BUNDLE, args));
}

int
haven__agt_cmd_dapp_plan(haven__agent *a, const haven__args *args)
{
	return (haven__agt_marac_run(a, HAVEN_MSG_DAPP_ACTION_PLAN,
	    args));
}
