/*
 * leak-hunt run: measure one stage configuration and decide.
 */
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "measure.h"
#include "report.h"
#include "runner.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: leak-hunt run [--enable LIST] [--tool rss|heap|memcheck]\n"
    "                     [--work N | --duration S] [--threshold B]\n"
    "                     [--report DIR] [--json FILE] [--stages LIST]\n"
    "                     [--inject STAGE:KIND:BYTES[:EVERY]]...\n"
    "                     [--scenario NAME] [--nodes N] [--stage-map MAP]\n"
    "                     [--timeout S] [--extend N] [--target-wraps]\n"
    "                     [--restart] [--quiet]\n"
    "                     [--metrics URL [--work-metric SEL]\n"
    "                      [--memory-metric SEL]] [-- TARGET ARGS...]\n"
    "\n"
    "Runs the target with the stages in LIST enabled under one tool, and\n"
    "says whether memory grows per unit of work.  Without '-- TARGET' the\n"
    "target is the built-in selfheal pipeline on the embedded broker.\n"
    "Without --enable: every stage of the built-in pipeline, no stage of\n"
    "another target.\n"
    "The target gets LEAKHUNT_CONTROL (live switching, docs/protocol.md\n"
    "section 5); report.json says \"mode\": \"live\" when it acknowledges\n"
    "(stages= on its stats lines).  --restart, or --tool memcheck: a\n"
    "plain run.\n"
    "--metrics URL: work and memory from the service's Prometheus metrics\n"
    "(docs/protocol.md section 9), scraped 10 times a second: the work\n"
    "counter --work-metric (name, name{label=\"v\"}, or sum(...) of the\n"
    "series it matches; without: per second), the memory gauge\n"
    "--memory-metric (the same forms; without: the RSS of the\n"
    "processes leak-hunt started).  A restart of the service (its counter\n"
    "going back) starts the fit again.  With no '-- TARGET' it is watch\n"
    "mode: nothing is started, the running service (any host) is measured\n"
    "for --duration S (default 20), and --memory-metric is required.\n"
    "A first scrape that fails exits 2; failing scrapes during the run are\n"
    "skipped, and end it inconclusive (3) after 5 s without a good one or\n"
    "when more than half fail.\n"
    "Exit: 0 clean, 1 leak, 2 usage or environment error, 3 inconclusive\n"
    "or target failure.\n";

int lh_cmd_run(int argc, char **argv)
{
    lh_cli c = {.cmd = "run"};
    int rc = lh_cli_parse(argc, argv, help, &c);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (c.tool == NULL)
        c.tool = lh_tool_for(LH_TOOL_FOR_SEARCH);

    lh_runner run;
    rc = lh_runner_init(&run, &c);
    if (rc)
        return rc;
    if (c.watch)
        lh_runner_watch(&run);
    else if (c.metrics)
        lh_runner_restart(&run, "measured through --metrics: the target's "
                                "stages are not switched live");
    else if (c.restart || c.tool->own_signal)
        lh_runner_restart(&run, c.restart ? "--restart"
                                          : "a tool with a signal of its "
                                            "own, gathered per run");
    else
        lh_runner_go_live(&run, c.tool, NULL);
    lh_run_result *res = lh_runner_measure(&run, c.enable, c.tool);
    lh_runner_end_live(&run);
    int status = 3;
    lh_report rep = {0};
    lh_runner_report(&run, &rep);
    if (res == NULL) {
        rep.verdict = "error";
    } else if (res->verdict == LH_RUN_ERROR) {
        rep.verdict = "error";
        snprintf(rep.error, sizeof rep.error, "%s", res->error);
    } else {
        rep.verdict = lh_run_verdict_name(res->verdict);
        if (res->verdict == LH_RUN_INCONCLUSIVE && res->error[0])
            snprintf(rep.error, sizeof rep.error, "%s", res->error);
        status = res->verdict == LH_RUN_LEAK    ? 1
                 : res->verdict == LH_RUN_CLEAN ? 0
                                                : 3;
        if (res->verdict == LH_RUN_LEAK && res->nsites) {
            rep.nculprit = 0;
            if (res->sites[0].stage[0]) {
                snprintf(rep.culprit[0], sizeof rep.culprit[0], "%s",
                         res->sites[0].stage);
                rep.nculprit = 1;
            }
        }
    }
    if (run.tool_failed || run.env_failed)
        status = 2;
    lh_report_verdict(&rep, stdout);
    if (lh_runner_write(&run, &rep) < 0 && status != 2)
        status = 2;
    lh_runner_free(&run);
    return status;
}
