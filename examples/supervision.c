/* Supervision: workers that fail on bad input and recover.
 *
 * Three scenes, as in Casty's supervision guide:
 *  1. a worker under a supervisor that restarts it: a bad task fails it, it
 *     restarts with a fresh state, and takes the next task;
 *  2. a worker with a selective strategy (restart on bad input, stop on a
 *     deliberate crash) that watches its own life through signals: started,
 *     restarting (with the failure's code), stopped;
 *  3. a team: a supervisor actor that hires three supervised workers (its
 *     children) and hands tasks on to them; one fails and is restarted
 *     while the others keep their state.
 * The output is fixed (tests/supervision_expected.txt): main waits for the
 * system to be quiet between steps, and for each worker to answer before it
 * has the next one hired, so the workers print in order. (Quiet means no
 * message is queued; a new actor's setup is no message, and two setups may
 * run at once on two workers.) */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "casty/casty.h"

enum { MSG_PROCESS, MSG_GET_PROCESSED, MSG_CRASH, MSG_DELEGATE, MSG_HIRE };

/* Why a worker fails: the codes its supervisor's decider reads. */
enum { FAILED_BAD_INPUT = 1, FAILED_ON_PURPOSE = 2 };

typedef struct task {
    char name[24];
} task_t;

typedef struct get_processed {
    casty_ref_t reply_to; /* answered with a uint32_t */
} get_processed_t;

typedef struct delegate {
    task_t task;
    uint32_t worker;
} delegate_t;

/* A worker's state: the tasks it has processed since it (re)started. */
typedef struct worker {
    uint32_t processed;
    char name[32];
} worker_t;

static void say(const worker_t *w, const char *what)
{
    printf("  [%s] %s\n", w->name, what);
}

static casty_behavior_t worker_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    (void)ctx;
    worker_t w = *(const worker_t *)env;
    char line[96];
    switch (msg->type) {
    case MSG_PROCESS: {
        const task_t *t = casty_msg_as(msg, task_t);
        if (t == NULL || strcmp(t->name, "bad") == 0) {
            snprintf(line, sizeof line, "cannot process: %s", t != NULL ? t->name : "?");
            say(&w, line);
            return casty_failed(FAILED_BAD_INPUT);
        }
        w.processed++;
        snprintf(line, sizeof line, "processed: %s (%" PRIu32 " since start)", t->name,
                 w.processed);
        say(&w, line);
        return casty_receive_signals(worker_receive, w);
    }
    case MSG_GET_PROCESSED: {
        const get_processed_t *q = casty_msg_as(msg, get_processed_t);
        if (q != NULL) {
            casty_tell(q->reply_to, MSG_GET_PROCESSED, &w.processed, sizeof w.processed);
        }
        return casty_same();
    }
    case MSG_CRASH:
        say(&w, "crashing on purpose");
        return casty_failed(FAILED_ON_PURPOSE);
    case CASTY_SIGNAL_PRE_RESTART: {
        const int32_t *code = casty_msg_as(msg, int32_t);
        snprintf(line, sizeof line, "restarting after failure %" PRId32, code != NULL ? *code : 0);
        say(&w, line);
        return casty_same();
    }
    case CASTY_SIGNAL_POST_STOP:
        say(&w, "stopped");
        return casty_same();
    }
    return casty_unhandled();
}

/* Runs at the start and at every restart: the state begins again. */
static casty_behavior_t worker_setup(casty_ctx_t *ctx, const void *env)
{
    (void)ctx;
    worker_t w = *(const worker_t *)env;
    w.processed = 0;
    say(&w, "started");
    return casty_receive_signals(worker_receive, w);
}

static casty_behavior_t worker_named(const char *name)
{
    worker_t w = {.processed = 0};
    snprintf(w.name, sizeof w.name, "%s", name);
    return casty_setup(worker_setup, w);
}

/* Restart on bad input, stop on anything else. */
static casty_directive_t selective(int32_t code, void *arg)
{
    (void)arg;
    return code == FAILED_BAD_INPUT ? CASTY_RESTART : CASTY_STOP;
}

/* The team's supervisor: up to three workers, its children, each restarted
 * at most 3 times a minute. */
#define TEAM 3

typedef struct team {
    casty_ref_t workers[TEAM];
    uint32_t hired;
} team_t;

static casty_behavior_t team_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env);

/* Spawns the next worker; the team's new state knows it. */
static casty_behavior_t hire(casty_ctx_t *ctx, team_t team)
{
    casty_supervisor_t restart = CASTY_SUPERVISOR_INIT;
    restart.max_restarts = 3;
    restart.within = CASTY_SECONDS(60);
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;
    opts.supervisor = &restart;
    char name[32];
    snprintf(name, sizeof name, "worker-%" PRIu32, team.hired);
    opts.name = name;
    if (team.hired == TEAM || casty_ctx_spawn_with(ctx, worker_named(name), &opts,
                                                   &team.workers[team.hired]) != CASTY_OK) {
        return casty_unhandled();
    }
    team.hired++;
    return casty_receive(team_receive, team);
}

static casty_behavior_t team_receive(casty_ctx_t *ctx, const casty_msg_t *msg, const void *env)
{
    const team_t *team = env;
    if (msg->type == MSG_HIRE) {
        return hire(ctx, *team);
    }
    const delegate_t *d = casty_msg_as(msg, delegate_t);
    if (msg->type != MSG_DELEGATE || d == NULL || d->worker >= team->hired) {
        return casty_unhandled();
    }
    casty_tell(team->workers[d->worker], MSG_PROCESS, &d->task, sizeof d->task);
    return casty_same();
}

static void process(casty_system_t *system, casty_ref_t to, const char *name)
{
    task_t t;
    snprintf(t.name, sizeof t.name, "%s", name);
    casty_tell(to, MSG_PROCESS, &t, sizeof t);
    casty_wait_quiet(system, CASTY_SECONDS(5));
}

static void delegate(casty_system_t *system, casty_ref_t team, const char *name, uint32_t worker)
{
    delegate_t d = {.worker = worker};
    snprintf(d.task.name, sizeof d.task.name, "%s", name);
    casty_tell(team, MSG_DELEGATE, &d, sizeof d);
    casty_wait_quiet(system, CASTY_SECONDS(5));
}

/* Asks team worker i how many tasks it has processed (0 if it cannot). */
static uint32_t processed_by(casty_system_t *system, int i)
{
    char path[32];
    casty_ref_t w;
    get_processed_t q;
    uint32_t processed = 0;
    snprintf(path, sizeof path, "/team/worker-%d", i);
    int rc;
    for (int tries = 0; (rc = casty_lookup(system, path, &w)) == CASTY_ENOTFOUND && tries < 5000;
         tries++) {
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL); /* the team is setting up */
    }
    if (rc == CASTY_OK) {
        casty_ask(w, MSG_GET_PROCESSED, &q, sizeof q, &q.reply_to, &processed, sizeof processed,
                  CASTY_SECONDS(5));
    }
    return processed;
}

int main(void)
{
    casty_system_t *system;
    if (casty_system_create(NULL, &system) != CASTY_OK) {
        fprintf(stderr, "supervision: no system\n");
        return 1;
    }
    casty_spawn_opts_t opts = CASTY_SPAWN_OPTS_INIT;

    printf("-- basic supervision --\n");
    casty_supervisor_t always = CASTY_SUPERVISOR_INIT; /* restart, on any failure */
    always.max_restarts = 3;
    always.within = CASTY_SECONDS(60);
    opts.supervisor = &always;
    opts.name = "basic-worker";
    casty_ref_t basic;
    casty_spawn_with(system, worker_named("basic-worker"), &opts, &basic);
    process(system, basic, "hello");
    process(system, basic, "bad"); /* fails: restarted */
    process(system, basic, "world");
    casty_stop(basic);
    casty_wait_stopped(system, basic, CASTY_SECONDS(5));

    printf("-- selective strategy and signals --\n");
    casty_supervisor_t choose = CASTY_SUPERVISOR_INIT;
    choose.decider = selective;
    choose.max_restarts = 5;
    choose.within = CASTY_SECONDS(60);
    opts.supervisor = &choose;
    opts.name = "selective-worker";
    casty_ref_t selective_ref;
    casty_spawn_with(system, worker_named("selective-worker"), &opts, &selective_ref);
    process(system, selective_ref, "good");
    process(system, selective_ref, "bad");         /* bad input: restarted */
    casty_tell(selective_ref, MSG_CRASH, NULL, 0); /* on purpose: stopped */
    casty_wait_stopped(system, selective_ref, CASTY_SECONDS(5));

    printf("-- supervision tree --\n");
    opts.supervisor = NULL;
    opts.name = "team";
    casty_ref_t team;
    casty_spawn_with(system, casty_receive(team_receive, (team_t){.hired = 0}), &opts, &team);
    for (int i = 0; i < TEAM; i++) { /* each starts (and says so) before the next is hired */
        casty_tell(team, MSG_HIRE, NULL, 0);
        processed_by(system, i);
    }
    delegate(system, team, "task-a", 0);
    delegate(system, team, "task-b", 1);
    delegate(system, team, "task-c", 2);
    delegate(system, team, "bad", 2); /* worker-2 fails and restarts */
    delegate(system, team, "task-d", 2);
    delegate(system, team, "task-e", 0); /* worker-0 kept its state */

    printf("  worker-0 has processed %" PRIu32 " tasks since it started\n",
           processed_by(system, 0));
    for (int i = 0; i < TEAM; i++) { /* one by one, so that they print in order */
        char path[32];
        casty_ref_t w;
        snprintf(path, sizeof path, "/team/worker-%d", i);
        if (casty_lookup(system, path, &w) == CASTY_OK) {
            casty_stop(w);
            casty_wait_stopped(system, w, CASTY_SECONDS(5));
        }
    }
    casty_stats_t st;
    casty_system_shutdown(system);
    casty_system_stats(system, &st);
    printf("failed %" PRIu64 ", restarts %" PRIu64 "\n", st.failed, st.restarts);
    casty_system_destroy(system);
    return 0;
}
