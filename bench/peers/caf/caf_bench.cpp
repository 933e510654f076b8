// caf-bench: the CAF 0.17 peer of casty-bench (see BENCHMARKS.md).
//
//   caf-bench NAME [--workers N] [--quick] [--KEY VALUE ...]
//   caf-bench all  [--workers N] [--quick]
//
// A single benchmark prints its one BENCH line on stdout and exits 1 when its
// check fails. `all` runs each benchmark in a fresh child process of this
// executable, passes the BENCH lines through and tables them on stderr.
// `--workers N` becomes CAF's scheduler.max-threads; arguments of the form
// `--caf#key=value` go to CAF's own parser, and no other argument reaches it.
#include "bench.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace cafbench;

namespace
{

constexpr int exit_check_failed = 1;
constexpr int exit_usage = 2;
constexpr int64_t quick_divisor = 10;

// The largest value any parameter takes, so that the products below (the ops
// of fjthroughput, mailbox, ask ...) stay far inside 64 bits, and ask's
// request numbers inside their 40 bits.
constexpr int64_t param_max = 1000000000000;
// Worker threads, and threads started outside the runtime, at most.
constexpr int64_t max_threads = 1024;
// skynet's leaves, at most: the sum of their numbers must fit in 63 bits.
constexpr int64_t skynet_max_leaves = 1000000000;

// One parameter and its default. `scales` marks the amounts of work that
// `--quick` divides (messages, round trips, hops, meetings, calls, asks). The
// actor counts, the threads outside the runtime, skynet's tree and the
// breaker's protocol (window, threshold, reset) keep their values: they give
// a run its shape, the same parameters casty-bench keeps.
struct param_spec {
    const char *key;
    int64_t value;
    bool scales;
};

struct bench_spec {
    const char *name;
    std::vector<param_spec> defaults;
    result (*run)(caf::actor_system &, const params &);
    // Why a parameter set cannot run, or nullptr when it can.
    const char *(*invalid)(const params &);
};

bool product_fits(int64_t a, int64_t b, int64_t limit)
{
    return a <= limit / b;
}

const char *no_constraint(const params &)
{
    return nullptr;
}

const std::vector<bench_spec> &benchmarks()
{
    static const std::vector<bench_spec> table = {
        {"pingpong", {{"n", 1000000, true}}, run_pingpong, no_constraint},
        {"counting", {{"n", 10000000, true}}, run_counting, no_constraint},
        {"threadring", {{"r", 503, false}, {"t", 10000000, true}}, run_threadring, no_constraint},
        {"fjthroughput",
         {{"a", 60, false}, {"n", 100000, true}},
         run_fjthroughput,
         [](const params &p) -> const char * {
             return product_fits(p.at("a"), p.at("n"), param_max)
                        ? nullptr
                        : "fjthroughput: --a times --n must be at most 1e12";
         }},
        {"fjcreation", {{"n", 1000000, false}}, run_fjcreation, no_constraint},
        {"chameneos",
         {{"c", 100, false}, {"m", 2000000, true}},
         run_chameneos,
         [](const params &p) -> const char * {
             return p.at("c") < 2 ? "chameneos needs --c 2 or more" : nullptr;
         }},
        {"big",
         {{"w", 120, false}, {"p", 50000, true}},
         run_big,
         [](const params &p) -> const char * {
             if (p.at("w") < 2)
                 return "big needs --w 2 or more";
             return product_fits(p.at("w"), p.at("p"), param_max)
                        ? nullptr
                        : "big: --w times --p must be at most 1e12";
         }},
        {"mailbox",
         {{"t", 2, false}, {"m", 5000000, true}},
         run_mailbox,
         [](const params &p) -> const char * {
             if (p.at("t") > max_threads)
                 return "mailbox: --t must be at most 1024";
             return product_fits(p.at("t"), p.at("m"), param_max)
                        ? nullptr
                        : "mailbox: --t times --m must be at most 1e12";
         }},
        {"skynet",
         {{"depth", 6, false}, {"fanout", 10, false}},
         run_skynet,
         [](const params &p) -> const char * {
             int64_t leaves = 1;
             for (int64_t level = 0; level < p.at("depth"); ++level) {
                 if (!product_fits(leaves, p.at("fanout"), skynet_max_leaves))
                     return "skynet: --fanout to the power --depth must be at most 1e9";
                 leaves *= p.at("fanout");
             }
             return nullptr;
         }},
        {"breaker",
         {{"callers", 1000, false},
          {"clients", 100, false},
          {"calls", 100000, true},
          {"window", 32, false},
          {"threshold", 5, false},
          {"reset", 20, false}},
         run_breaker,
         [](const params &p) -> const char * {
             for (const char *key : {"callers", "clients", "window", "threshold"})
                 if (p.at(key) > INT32_MAX)
                     return "breaker: --callers, --clients, --window and --threshold "
                            "must fit 32 bits";
             if (p.at("callers") % p.at("clients") != 0)
                 return "breaker needs --callers a multiple of --clients";
             return product_fits(p.at("clients"), p.at("calls"), param_max)
                        ? nullptr
                        : "breaker: --clients times --calls must be at most 1e12";
         }},
        {"ask",
         {{"t", 2, false}, {"q", 200000, true}, {"e", 64, false}},
         run_ask,
         [](const params &p) -> const char * {
             if (p.at("t") > max_threads)
                 return "ask: --t must be at most 1024";
             return product_fits(p.at("t"), p.at("q"), param_max)
                        ? nullptr
                        : "ask: --t times --q must be at most 1e12";
         }},
        {"idle", {{"n", 1000000, false}}, run_idle, no_constraint},
    };
    return table;
}

const bench_spec *find_benchmark(const std::string &name)
{
    for (auto &spec : benchmarks())
        if (name == spec.name)
            return &spec;
    return nullptr;
}

void print_usage()
{
    std::fprintf(stderr, "usage: caf-bench NAME [--workers N] [--quick] "
                         "[--KEY VALUE ...]\n"
                         "       caf-bench all  [--workers N] [--quick]\n"
                         "CAF options pass through as --caf#key=value.\n"
                         "benchmarks and their parameters (default):\n");
    for (auto &spec : benchmarks()) {
        std::fprintf(stderr, "  %-13s", spec.name);
        for (auto &param : spec.defaults)
            std::fprintf(stderr, " --%s (%" PRId64 ")", param.key, param.value);
        std::fprintf(stderr, "\n");
    }
}

// A decimal integer in 1..max, nothing else.
bool parse_count(const char *text, int64_t max, int64_t &out)
{
    if (*text < '0' || *text > '9')
        return false;
    char *end = nullptr;
    errno = 0;
    long long value = std::strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || value < 1 || value > max)
        return false;
    out = value;
    return true;
}

struct options {
    std::string name;
    int64_t workers = 0;
    bool quick = false;
    std::vector<std::pair<std::string, int64_t>> overrides;
    std::vector<std::string> caf_args;
};

// Returns false, after saying why on stderr, when the command line is bad.
bool parse_options(int argc, char **argv, options &opt)
{
    if (argc < 2) {
        std::fprintf(stderr, "caf-bench: no benchmark named\n");
        return false;
    }
    opt.name = argv[1];
    opt.workers = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--quick") {
            opt.quick = true;
        } else if (arg.rfind("--caf#", 0) == 0) {
            opt.caf_args.push_back(arg);
        } else if (arg.size() > 2 && arg.rfind("--", 0) == 0 && i + 1 < argc) {
            const bool workers = arg == "--workers";
            const int64_t max = workers ? max_threads : param_max;
            int64_t value = 0;
            if (!parse_count(argv[i + 1], max, value)) {
                std::fprintf(stderr,
                             "caf-bench: %s wants a whole number from 1 to %" PRId64 ", not %s\n",
                             arg.c_str(), max, argv[i + 1]);
                return false;
            }
            if (workers)
                opt.workers = value;
            else
                opt.overrides.emplace_back(arg.substr(2), value);
            ++i;
        } else {
            std::fprintf(stderr, "caf-bench: unexpected argument %s\n", arg.c_str());
            return false;
        }
    }
    return true;
}

// The defaults, scaled down under --quick, then the explicit overrides.
bool resolve_params(const bench_spec &spec, const options &opt, params &p)
{
    for (auto &param : spec.defaults) {
        int64_t value = param.value;
        if (opt.quick && param.scales)
            value = std::max<int64_t>(1, value / quick_divisor);
        p[param.key] = value;
    }
    for (auto &[key, value] : opt.overrides) {
        if (p.count(key) == 0) {
            std::fprintf(stderr, "caf-bench: %s has no parameter --%s\n", spec.name, key.c_str());
            return false;
        }
        p[key] = value;
    }
    if (const char *why = spec.invalid(p)) {
        std::fprintf(stderr, "caf-bench: %s\n", why);
        return false;
    }
    return true;
}

int run_one(const bench_spec &spec, const options &opt, const params &p)
{
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", opt.workers);
    if (!opt.caf_args.empty()) {
        if (auto err = cfg.parse(opt.caf_args)) {
            std::fprintf(stderr, "caf-bench: CAF rejected its options: %s\n",
                         cfg.render(err).c_str());
            print_usage();
            return exit_usage;
        }
    }
    caf::actor_system sys{cfg};
    result r = spec.run(sys, p);
    const auto rate = r.secs > 0 ? static_cast<int64_t>(r.ops / r.secs) : 0;
    std::printf("BENCH name=%s workers=%zu ops=%" PRId64 " secs=%.6f "
                "rate=%" PRId64 " check=%s%s\n",
                spec.name, sys.scheduler().num_workers(), r.ops, r.secs, rate, r.ok ? "ok" : "FAIL",
                r.extra.c_str());
    std::fflush(stdout);
    return r.ok ? EXIT_SUCCESS : exit_check_failed;
}

// -- all: every benchmark in a child process ----------------------------------

// Runs `argv` with its stdout captured; returns the exit status, or -1.
int run_child(const std::vector<std::string> &args, std::string &output)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    posix_spawn_file_actions_addclose(&actions, fds[1]);
    std::vector<char *> child_argv;
    for (auto &a : args)
        child_argv.push_back(const_cast<char *>(a.c_str()));
    child_argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, child_argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0)
        output.append(buf, static_cast<size_t>(got));
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

// The value of `key=` in a BENCH line, or "" when absent.
std::string field(const std::string &line, const std::string &key)
{
    std::string needle = " " + key + "=";
    auto pos = line.find(needle);
    if (pos == std::string::npos)
        return "";
    pos += needle.size();
    return line.substr(pos, line.find(' ', pos) - pos);
}

int run_all(const char *self_name, const options &opt)
{
    std::fprintf(stderr, "%-13s %12s %10s %12s  %-5s %s\n", "benchmark", "ops", "secs", "rate/s",
                 "check", "extra");
    bool all_ok = true;
    for (auto &spec : benchmarks()) {
        std::vector<std::string> args = {self_name, spec.name, "--workers",
                                         std::to_string(opt.workers)};
        if (opt.quick)
            args.emplace_back("--quick");
        std::string output;
        const int status = run_child(args, output);
        std::fputs(output.c_str(), stdout);
        std::fflush(stdout);

        std::string line;
        auto pos = output.find("BENCH ");
        if (pos != std::string::npos)
            line = output.substr(pos, output.find('\n', pos) - pos);
        const std::string check = field(line, "check");
        const bool ok = status == 0 && check == "ok";
        all_ok = all_ok && ok;
        // Whatever follows check= is benchmark-specific.
        std::string extra;
        auto check_pos = line.find(" check=");
        if (check_pos != std::string::npos) {
            auto extra_pos = line.find(' ', check_pos + 1);
            if (extra_pos != std::string::npos)
                extra = line.substr(extra_pos + 1);
        }
        std::fprintf(stderr, "%-13s %12s %10s %12s  %-5s %s\n", spec.name,
                     field(line, "ops").c_str(), field(line, "secs").c_str(),
                     field(line, "rate").c_str(), ok ? "ok" : "FAIL", extra.c_str());
    }
    return all_ok ? EXIT_SUCCESS : exit_check_failed;
}

} // namespace

int main(int argc, char **argv)
{
    options opt;
    if (!parse_options(argc, argv, opt)) {
        print_usage();
        return exit_usage;
    }
    if (opt.name == "all") {
        if (!opt.overrides.empty() || !opt.caf_args.empty()) {
            std::fprintf(stderr, "caf-bench: all takes only --workers and --quick\n");
            print_usage();
            return exit_usage;
        }
        return run_all(argv[0], opt);
    }
    const bench_spec *spec = find_benchmark(opt.name);
    params p;
    if (spec == nullptr) {
        std::fprintf(stderr, "caf-bench: no benchmark named %s\n", opt.name.c_str());
        print_usage();
        return exit_usage;
    }
    if (!resolve_params(*spec, opt, p)) {
        print_usage();
        return exit_usage;
    }
    return run_one(*spec, opt, p);
}
