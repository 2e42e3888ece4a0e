/*
 * stage_list.h - the stages of the selfheal pipeline, in pipeline order:
 * the one list that everything about stages is generated from.
 *
 * This header stands alone (no other header, no stage code), in a folder
 * of its own, so that code which needs the stages' names without their
 * code can include it: leak-hunt does, for the built-in pipeline, and does
 * not link the stages library (docs/architecture.md).
 *
 * LH_STAGE_LIST(X, R) expands X(ID, name, requirements) once per stage:
 *   ID            the id's suffix: LH_STAGE_<ID> in enum lh_stage_id
 *                 (stage.h), which is also the stage's bit in stage masks
 *   name          the stage's name on command lines (--stages, --inject,
 *                 LEAKHUNT_STAGES) and in messages; its ops are
 *                 lh_stage_<name>, defined in stage_<name>.c
 *   requirements  R(name, other) for each stage it needs directly, or
 *                 nothing; a stage needs what those need too, so rpc
 *                 lists verify only and needs forward through it.
 *
 * Generated from the list:
 *   enum lh_stage_id and the ops' extern declarations (stage.h);
 *   lh_stage_registry, the requirement check and the stage names in its
 *   messages (registry.c);
 *   LH_STAGE_NAMES and LH_STAGE_REQUIRES below, the built-in pipeline's
 *   stages and requirements as leak-hunt takes them (harness/cmd/cli.h).
 *
 * How to add a stage
 *   1. Write stages/stage_<name>.c with the stage's ops (stage.h states
 *      the interface; each stage implements ON and OFF in its handle):
 *          const lh_stage_ops lh_stage_<name> = {
 *              .name = "<name>",
 *              .handle = <name>_handle,
 *              ...
 *          };
 *      The build picks up every stages/stage_*.c by itself.
 *   2. Add its line to LH_STAGE_LIST at its place in the pipeline, with
 *      R(<name>, <stage>) for each stage it cannot run without.
 *   That is all: the enum, the registry, --stages and --inject parsing,
 *   the messages and leak-hunt's built-in stage list follow.  A listed
 *   stage without its file fails to link (lh_stage_<name> undefined); a
 *   requirement naming no stage fails to compile.
 */
#ifndef LH_STAGE_LIST_H
#define LH_STAGE_LIST_H

/*      ID       name     requirements */
#define LH_STAGE_LIST(X, R)                                                    \
    X(FORWARD, forward, )                                                      \
    X(HASH, hash, R(hash, forward))                                            \
    X(ENQUEUE, enqueue, R(enqueue, forward))                                   \
    X(VERIFY, verify, R(verify, forward))                                      \
    X(RPC, rpc, R(rpc, verify))

/* For expansions that leave out the requirements. */
#define LH_STAGE_NO_REQ(name, dep)

/* The string s without its first character (the leading separator the
 * expansions below emit before each item); "" when s is "". */
#define LH_STAGE_TAIL_(s) (sizeof(s) > 1 ? (s) + 1 : "")

#define LH_STAGE_NAME_ITEM_(ID, name, req) "," #name
#define LH_STAGE_REQ_ITEMS_(ID, name, req) req
#define LH_STAGE_REQ_ITEM_(name, dep) "," #name ":" #dep

/* The stage names in pipeline order: "forward,hash,enqueue,verify,rpc". */
#define LH_STAGE_NAMES                                                         \
    LH_STAGE_TAIL_("" LH_STAGE_LIST(LH_STAGE_NAME_ITEM_, LH_STAGE_NO_REQ))

/* The direct requirements as STAGE:NEEDED pairs (leak-hunt's --requires):
 * "hash:forward,enqueue:forward,verify:forward,rpc:verify". */
#define LH_STAGE_REQUIRES                                                      \
    LH_STAGE_TAIL_("" LH_STAGE_LIST(LH_STAGE_REQ_ITEMS_, LH_STAGE_REQ_ITEM_))

#endif
