/*
 * casty_bench.c - casty-bench, the driver of the benchmark suite in
 * BENCHMARKS.md:
 *
 *   casty-bench NAME [--workers N] [--quick] [--KEY VALUE ...]
 *   casty-bench all  [--workers N] [--quick]
 *
 * A single benchmark runs in a fresh actor system of N workers (default: the
 * online CPUs), prints its one BENCH line on stdout and exits 1 when its
 * check failed. `all` runs each benchmark in a child process of this
 * executable (fork, then exec of /proc/self/exe), passes the BENCH lines
 * through to stdout and tables them on stderr. A bad command line gets the
 * usage on stderr and exit status 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "breaker_workload.h"

enum { EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2 };

/* `--quick` divides the parameters that scale by this. */
#define QUICK_DIVISOR 10u

/* The largest value any parameter takes: products of two parameters (the ops
 * of fjthroughput, mailbox, ask ...) stay far inside 64 bits with the checks
 * below, and ask's request numbers inside their 40 bits. */
#define PARAM_MAX UINT64_C(1000000000000)

/* Threads started outside the runtime by mailbox and ask, at most. */
#define MAX_EXTERNAL_THREADS 1024u

/* skynet's leaves, at most: their numbers' sum must fit in 64 bits. */
#define SKYNET_MAX_LEAVES UINT64_C(1000000000)

/* One parameter, its default, and whether `--quick` divides it. */
typedef struct param_spec {
    const char *key;
    uint64_t value;
    bool scales;
} param_spec_t;

typedef struct bench_spec {
    const char *name;
    param_spec_t params[BENCH_MAX_PARAMS]; /* ended by a NULL key */
    bench_run_fn run;
    /* Why a parameter set cannot run, or NULL when it can. */
    const char *(*invalid)(const bench_params_t *params);
} bench_spec_t;

static bool product_fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return b == 0 || a <= limit / b;
}

static const char *no_constraint(const bench_params_t *p)
{
    (void)p;
    return NULL;
}

static const char *counting_invalid(const bench_params_t *p)
{
    return bench_param(p, "capacity") > CASTY_MAX_CAPACITY
               ? "counting: --capacity must be at most 2^30"
               : NULL;
}

static const char *fjthroughput_invalid(const bench_params_t *p)
{
    return product_fits(bench_param(p, "a"), bench_param(p, "n"), PARAM_MAX)
               ? NULL
               : "fjthroughput: --a times --n must be at most 1e12";
}

static const char *chameneos_invalid(const bench_params_t *p)
{
    return bench_param(p, "c") < 2 ? "chameneos needs --c 2 or more" : NULL;
}

static const char *big_invalid(const bench_params_t *p)
{
    if (bench_param(p, "w") < 2) {
        return "big needs --w 2 or more";
    }
    return product_fits(bench_param(p, "w"), bench_param(p, "p"), PARAM_MAX)
               ? NULL
               : "big: --w times --p must be at most 1e12";
}

static const char *mailbox_invalid(const bench_params_t *p)
{
    if (bench_param(p, "t") > MAX_EXTERNAL_THREADS) {
        return "mailbox: --t must be at most 1024";
    }
    return product_fits(bench_param(p, "t"), bench_param(p, "m"), PARAM_MAX)
               ? NULL
               : "mailbox: --t times --m must be at most 1e12";
}

static const char *ask_invalid(const bench_params_t *p)
{
    if (bench_param(p, "t") > MAX_EXTERNAL_THREADS) {
        return "ask, inbox: --t must be at most 1024";
    }
    return product_fits(bench_param(p, "t"), bench_param(p, "q"), PARAM_MAX)
               ? NULL
               : "ask, inbox: --t times --q must be at most 1e12";
}

static const char *timers_invalid(const bench_params_t *p)
{
    if (bench_param(p, "d") == 0 || bench_param(p, "d") > 1000000000) {
        return "timers: --d must be from 1 to 1e9 (milliseconds)";
    }
    return bench_param(p, "n") <= 100000000 ? NULL : "timers: --n must be at most 1e8";
}

static const char *supervision_invalid(const bench_params_t *p)
{
    if (bench_param(p, "k") == 0 || bench_param(p, "w") == 0) {
        return "supervision: --k and --w must be at least 1";
    }
    return product_fits(bench_param(p, "w"), bench_param(p, "m"), PARAM_MAX)
               ? NULL
               : "supervision: --w times --m must be at most 1e12";
}

static const char *skynet_invalid(const bench_params_t *p)
{
    uint64_t leaves = 1;
    for (uint64_t level = 0; level < bench_param(p, "depth"); level++) {
        if (!product_fits(leaves, bench_param(p, "fanout"), SKYNET_MAX_LEAVES)) {
            return "skynet: --fanout to the power --depth must be at most 1e9";
        }
        leaves *= bench_param(p, "fanout");
    }
    return NULL;
}

static const char *breaker_invalid(const bench_params_t *p)
{
    const char *narrow[] = {"callers", "clients", "window", "threshold", "backoff", "jitter"};
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        if (bench_param(p, narrow[i]) > UINT32_MAX) {
            return "breaker: --callers, --clients, --window, --threshold, --backoff and --jitter "
                   "must fit 32 bits";
        }
    }
    if (bench_param(p, "single-trial") > 1 ||
        bench_param(p, "inflight") > CASTY_BENCH_BREAKER_MAX_INFLIGHT ||
        bench_param(p, "max-reset") > PARAM_MAX) {
        return "breaker: --single-trial is 1 at most, --inflight 16, --max-reset 1e12";
    }
    const casty_bench_breaker_params_t params = {
        .callers = (uint32_t)bench_param(p, "callers"),
        .clients = (uint32_t)bench_param(p, "clients"),
        .calls = bench_param(p, "calls"),
        .window = (uint32_t)bench_param(p, "window"),
        .threshold = (uint32_t)bench_param(p, "threshold"),
        .reset = bench_param(p, "reset"),
        .single_trial = (uint32_t)bench_param(p, "single-trial"),
        .backoff = (uint32_t)bench_param(p, "backoff"),
        .max_reset = bench_param(p, "max-reset"),
        .jitter_pct = (uint32_t)bench_param(p, "jitter"),
        .inflight = (uint32_t)bench_param(p, "inflight"),
    };
    if (!casty_bench_breaker_params_valid(&params)) {
        return "breaker needs --callers a multiple of --clients";
    }
    return product_fits(params.clients, params.calls, PARAM_MAX)
               ? NULL
               : "breaker: --clients times --calls must be at most 1e12";
}

/*
 * The suite, in BENCHMARKS.md's order, with its defaults.
 *
 * `--quick` ("every parameter divided by 10, actor counts kept") divides the
 * amounts of work: messages, round trips, hops, meetings, calls, asks. It
 * keeps what gives a run its shape: the actor counts (threadring's r,
 * fjthroughput's a, chameneos' c, big's w, breaker's callers and clients,
 * ask's e, and fjcreation's and idle's n, which count actors), the threads
 * outside the runtime (mailbox's and ask's t), skynet's tree (depth and
 * fanout fix how many actors it spawns), and the breaker's protocol (window,
 * threshold, reset: dividing threshold 5 or reset 20 would change what the
 * breakers do, not only how long). The CAF peer scales the same parameters,
 * so quick runs of both compare.
 */
static const bench_spec_t benchmarks[] = {
    {"pingpong", {{"n", 1000000, true}}, bench_run_pingpong, no_constraint},
    {"counting",
     {{"n", 10000000, true}, {"capacity", 0, false}},
     bench_run_counting,
     counting_invalid},
    {"threadring", {{"r", 503, false}, {"t", 10000000, true}}, bench_run_threadring, no_constraint},
    {"fjthroughput",
     {{"a", 60, false}, {"n", 100000, true}},
     bench_run_fjthroughput,
     fjthroughput_invalid},
    {"fjcreation", {{"n", 1000000, false}}, bench_run_fjcreation, no_constraint},
    {"chameneos",
     {{"c", 100, false}, {"m", 2000000, true}},
     bench_run_chameneos,
     chameneos_invalid},
    {"big", {{"w", 120, false}, {"p", 50000, true}}, bench_run_big, big_invalid},
    {"mailbox", {{"t", 2, false}, {"m", 5000000, true}}, bench_run_mailbox, mailbox_invalid},
    {"skynet", {{"depth", 6, false}, {"fanout", 10, false}}, bench_run_skynet, skynet_invalid},
    {"breaker",
     {{"callers", CASTY_BENCH_BREAKER_DEFAULT_CALLERS, false},
      {"clients", CASTY_BENCH_BREAKER_DEFAULT_CLIENTS, false},
      {"calls", CASTY_BENCH_BREAKER_DEFAULT_CALLS, true},
      {"window", CASTY_BENCH_BREAKER_DEFAULT_WINDOW, false},
      {"threshold", CASTY_BENCH_BREAKER_DEFAULT_THRESHOLD, false},
      {"reset", CASTY_BENCH_BREAKER_DEFAULT_RESET, false},
      {"single-trial", 0, false},
      {"backoff", 1, false},
      {"max-reset", 0, false},
      {"jitter", 0, false},
      {"inflight", 0, false}},
     bench_run_breaker,
     breaker_invalid},
    {"ask", {{"t", 2, false}, {"q", 200000, true}, {"e", 64, false}}, bench_run_ask, ask_invalid},
    {"inbox",
     {{"t", 2, false}, {"q", 200000, true}, {"e", 64, false}},
     bench_run_inbox,
     ask_invalid},
    {"timers", {{"n", 1000000, true}, {"d", 1000, false}}, bench_run_timers, timers_invalid},
    {"supervision",
     {{"w", 100, false}, {"m", 100000, true}, {"k", 100, false}},
     bench_run_supervision,
     supervision_invalid},
    {"idle", {{"n", 1000000, false}}, bench_run_idle, no_constraint},
};

#define BENCHMARK_COUNT (sizeof benchmarks / sizeof benchmarks[0])

static const bench_spec_t *find_benchmark(const char *name)
{
    for (size_t i = 0; i < BENCHMARK_COUNT; i++) {
        if (strcmp(benchmarks[i].name, name) == 0) {
            return &benchmarks[i];
        }
    }
    return NULL;
}

static void print_usage(void)
{
    fprintf(stderr,
            "usage: casty-bench NAME [--workers N] [--quick] [--KEY VALUE ...]\n"
            "       casty-bench all  [--workers N] [--quick]\n"
            "--workers N: worker threads (default: the online CPUs); --quick divides the\n"
            "parameters marked * by %u. Benchmarks and their parameters (default):\n",
            QUICK_DIVISOR);
    for (size_t i = 0; i < BENCHMARK_COUNT; i++) {
        fprintf(stderr, "  %-13s", benchmarks[i].name);
        for (const param_spec_t *p = benchmarks[i].params; p->key != NULL; p++) {
            fprintf(stderr, " --%s (%" PRIu64 ")%s", p->key, p->value, p->scales ? "*" : "");
        }
        fprintf(stderr, "\n");
    }
}

/* ---- the command line ---- */

#define MAX_OVERRIDES BENCH_MAX_PARAMS

typedef struct options {
    const char *name;
    uint32_t workers;
    bool quick;
    size_t overrides;
    const char *override_keys[MAX_OVERRIDES];
    uint64_t override_values[MAX_OVERRIDES];
} options_t;

/* A decimal integer in 1..max, nothing else. */
static bool parse_count(const char *text, uint64_t max, uint64_t *out)
{
    if (text[0] < '0' || text[0] > '9') {
        return false;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > max) {
        return false;
    }
    *out = value;
    return true;
}

/* Returns false, after saying why on stderr, when the command line is bad. */
static bool parse_options(int argc, char **argv, options_t *opt)
{
    if (argc < 2) {
        fprintf(stderr, "casty-bench: no benchmark named\n");
        return false;
    }
    casty_config_t defaults;
    casty_config_init(&defaults);
    *opt = (options_t){.name = argv[1], .workers = defaults.workers};
    if (strcmp(opt->name, "all") != 0 && find_benchmark(opt->name) == NULL) {
        fprintf(stderr, "casty-bench: no benchmark named %s\n", opt->name);
        return false;
    }
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--quick") == 0) {
            opt->quick = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' || i + 1 >= argc) {
            fprintf(stderr, "casty-bench: unexpected argument %s\n", arg);
            return false;
        }
        const char *text = argv[++i];
        uint64_t value = 0;
        if (strcmp(arg, "--workers") == 0) {
            if (!parse_count(text, CASTY_MAX_WORKERS, &value)) {
                fprintf(stderr, "casty-bench: --workers wants 1 to %u, not %s\n", CASTY_MAX_WORKERS,
                        text);
                return false;
            }
            opt->workers = (uint32_t)value;
            continue;
        }
        if (!parse_count(text, PARAM_MAX, &value)) {
            fprintf(stderr, "casty-bench: %s wants a whole number from 1 to 1e12, not %s\n", arg,
                    text);
            return false;
        }
        if (opt->overrides == MAX_OVERRIDES) {
            fprintf(stderr, "casty-bench: too many parameters\n");
            return false;
        }
        opt->override_keys[opt->overrides] = arg + 2;
        opt->override_values[opt->overrides] = value;
        opt->overrides++;
    }
    return true;
}

/* The defaults, scaled down under --quick, then the explicit overrides.
 * Returns false, after saying why, for a key the benchmark does not have or
 * a parameter set it cannot run. */
static bool resolve_params(const bench_spec_t *spec, const options_t *opt, bench_params_t *out)
{
    *out = (bench_params_t){.count = 0};
    for (const param_spec_t *p = spec->params; p->key != NULL; p++) {
        uint64_t value = p->value;
        if (opt->quick && p->scales) {
            value = value / QUICK_DIVISOR > 0 ? value / QUICK_DIVISOR : 1;
        }
        out->keys[out->count] = p->key;
        out->values[out->count] = value;
        out->count++;
    }
    for (size_t i = 0; i < opt->overrides; i++) {
        size_t k = 0;
        while (k < out->count && strcmp(out->keys[k], opt->override_keys[i]) != 0) {
            k++;
        }
        if (k == out->count) {
            fprintf(stderr, "casty-bench: %s has no parameter --%s\n", spec->name,
                    opt->override_keys[i]);
            return false;
        }
        out->values[k] = opt->override_values[i];
    }
    const char *why = spec->invalid(out);
    if (why != NULL) {
        fprintf(stderr, "casty-bench: %s\n", why);
        return false;
    }
    return true;
}

/* ---- one benchmark ---- */

static void print_bench_line(const char *name, uint32_t workers, const bench_result_t *r)
{
    uint64_t rate = r->secs > 0 ? (uint64_t)((double)r->ops / r->secs) : 0;
    printf("BENCH name=%s workers=%" PRIu32 " ops=%" PRIu64 " secs=%.6f rate=%" PRIu64
           " check=%s%s\n",
           name, workers, r->ops, r->secs, rate, r->ok ? "ok" : "FAIL", r->extra);
    fflush(stdout);
}

static int run_one(const bench_spec_t *spec, const options_t *opt, const bench_params_t *params)
{
    bench_result_t result = {.ops = 0, .secs = 0.0, .ok = false, .extra = ""};
    casty_config_t config;
    casty_config_init(&config);
    config.workers = opt->workers;
    config.name = "casty-bench";
    casty_system_t *system = NULL;
    if (bench_expect(&result, casty_system_create(&config, &system), "starting the actor system")) {
        result.ok = true;
        spec->run(system, params, &result);
        int rc = casty_system_shutdown(system);
        bench_expect(&result, rc, "shutting the actor system down");
        casty_system_destroy(system);
    }
    if (bench_actor_failures() > 0) {
        result.ok = false;
    }
    print_bench_line(spec->name, config.workers, &result);
    return result.ok ? EXIT_SUCCESS : EXIT_CHECK_FAILED;
}

/* ---- all: every benchmark in a child process ---- */

/* Room for one child's standard output: its BENCH line, and more. */
#define CHILD_OUTPUT_BYTES 4096u

/* Runs this executable with `args`, its stdout captured into `output`.
 * Returns the wait status, or -1 when the child could not be run. */
static int run_child(char *const args[], char *output, size_t size)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", args);
        fprintf(stderr, "casty-bench: cannot run /proc/self/exe: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    char discard[256];
    for (;;) {
        char *into = used + 1 < size ? output + used : discard;
        size_t room = used + 1 < size ? size - 1 - used : sizeof discard;
        ssize_t got = read(fds[0], into, room);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        if (into == output + used) {
            used += (size_t)got;
        }
    }
    output[used] = '\0';
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }
    return status;
}

/* Copies the value of ` key=` in `line` into `out` ("" when absent). */
static void field(const char *line, const char *key, char *out, size_t size)
{
    char needle[32];
    snprintf(needle, sizeof needle, " %s=", key);
    out[0] = '\0';
    const char *at = strstr(line, needle);
    if (at == NULL) {
        return;
    }
    at += strlen(needle);
    size_t len = strcspn(at, " \n");
    if (len >= size) {
        len = size - 1;
    }
    memcpy(out, at, len);
    out[len] = '\0';
}

static int run_all(const options_t *opt)
{
    if (opt->overrides > 0) {
        fprintf(stderr, "casty-bench: all takes only --workers and --quick\n");
        print_usage();
        return EXIT_USAGE;
    }
    char workers[16];
    snprintf(workers, sizeof workers, "%" PRIu32, opt->workers);
    fprintf(stderr, "%-13s %12s %10s %12s  %-5s %s\n", "benchmark", "ops", "secs", "rate/s",
            "check", "extra");
    bool all_ok = true;
    for (size_t i = 0; i < BENCHMARK_COUNT; i++) {
        char *args[] = {"casty-bench", (char *)benchmarks[i].name,    "--workers",
                        workers,       opt->quick ? "--quick" : NULL, NULL};
        char output[CHILD_OUTPUT_BYTES];
        int status = run_child(args, output, sizeof output);
        fputs(output, stdout);
        fflush(stdout);

        const char *line = strstr(output, "BENCH ");
        if (line == NULL) {
            line = "";
        }
        char ops[32];
        char secs[32];
        char rate[32];
        char check[32];
        field(line, "ops", ops, sizeof ops);
        field(line, "secs", secs, sizeof secs);
        field(line, "rate", rate, sizeof rate);
        field(line, "check", check, sizeof check);
        bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
                  strcmp(check, "ok") == 0;
        all_ok = all_ok && ok;

        /* Whatever follows check= is the benchmark's own. */
        char extra[BENCH_EXTRA_BYTES];
        const char *after_check = strstr(line, " check=");
        const char *rest = after_check != NULL ? strchr(after_check + 1, ' ') : NULL;
        snprintf(extra, sizeof extra, "%.*s", rest != NULL ? (int)strcspn(rest + 1, "\n") : 0,
                 rest != NULL ? rest + 1 : "");
        char verdict[32];
        if (status >= 0 && WIFSIGNALED(status)) {
            snprintf(verdict, sizeof verdict, "signal %d", WTERMSIG(status));
        } else {
            snprintf(verdict, sizeof verdict, "%s", ok ? "ok" : "FAIL");
        }
        fprintf(stderr, "%-13s %12s %10s %12s  %-5s %s\n", benchmarks[i].name, ops, secs, rate,
                verdict, extra);
    }
    return all_ok ? EXIT_SUCCESS : EXIT_CHECK_FAILED;
}

int main(int argc, char **argv)
{
    options_t opt;
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        print_usage();
        return EXIT_SUCCESS;
    }
    if (!parse_options(argc, argv, &opt)) {
        print_usage();
        return EXIT_USAGE;
    }
    if (strcmp(opt.name, "all") == 0) {
        return run_all(&opt);
    }
    const bench_spec_t *spec = find_benchmark(opt.name);
    bench_params_t params;
    if (!resolve_params(spec, &opt, &params)) {
        print_usage();
        return EXIT_USAGE;
    }
    return run_one(spec, &opt, &params);
}
