/* Behaviors: what an actor does with its next message.
 *
 * A behavior is a closure struct passed by value: a function plus a copy of
 * the environment it captured, stored inline. A handler receives that
 * environment as `const` and returns the behavior for the next message, so
 * state changes by returning a new environment, never by writing the old one.
 * The inline capacity is CASTY_ENV_CAPACITY bytes (the meson option
 * env_capacity); capturing more is a compile-time error, never a hidden
 * allocation, and so is capturing a pointer or an array, which would copy an
 * address where the state was meant. */
#ifndef CASTY_BEHAVIOR_H
#define CASTY_BEHAVIOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "casty/api.h"
#include "casty/config.h"
#include "casty/ref.h"

#ifdef __cplusplus
#include <type_traits>
#endif

#define CASTY__ENV_TOO_BIG "behavior environment exceeds CASTY_ENV_CAPACITY (meson -Denv_capacity)"
#define CASTY__ENV_IS_POINTER                                                                      \
    "behavior environment is a pointer or an array: capture the value itself "                     \
    "(to capture a pointer on purpose, wrap it in a struct)"

/* CASTY__ENV_SIZE(env): sizeof(env), and a compile-time error when `env`
 * does not fit inline, or is a pointer or an array. The environment is
 * copied by value, so capturing `state_ptr` where `*state_ptr` was meant
 * would copy the address, not the state, and share what the behavior should
 * own. An array is refused with pointers: C's test below sees it decayed and
 * cannot tell the two apart (nor can a reader, for an array parameter), and
 * C++ refuses it as well so that both languages accept the same
 * environments. Wrapped in a struct, an array is captured whole.
 *
 * C checks with _Static_assert inside a struct inside sizeof, and tells a
 * pointer by gcc's and clang's __builtin_classify_type; another C compiler
 * skips that one check. C++ may not define a type inside sizeof, and does
 * not take the builtin in a constant expression, so it instantiates a class
 * template instead, which cannot have C linkage: hence before the extern "C"
 * block. */
#ifdef __cplusplus
template <typename T> struct casty__env_check {
    typedef typename std::remove_reference<T>::type type;
    static_assert(!std::is_pointer<type>::value && !std::is_array<type>::value,
                  CASTY__ENV_IS_POINTER);
    static_assert(sizeof(type) <= CASTY_ENV_CAPACITY, CASTY__ENV_TOO_BIG);
    static constexpr size_t size = sizeof(type);
};
#define CASTY__ENV_SIZE(env) (casty__env_check<decltype(env)>::size)
#else
#if defined(__GNUC__)
/* __builtin_classify_type's class of a pointer (pointer_type_class in gcc's
 * typeclass.h; clang uses the same numbers). */
#define CASTY__POINTER_TYPE_CLASS 5
#define CASTY__IS_POINTER(env) (__builtin_classify_type(env) == CASTY__POINTER_TYPE_CLASS)
#else
#define CASTY__IS_POINTER(env) 0
#endif
#define CASTY__ENV_SIZE(env)                                                                       \
    (sizeof(env) + 0 * sizeof(struct {                                                             \
                       int casty__unused;                                                          \
                       _Static_assert(!CASTY__IS_POINTER(env), CASTY__ENV_IS_POINTER);             \
                       _Static_assert(sizeof(env) <= CASTY_ENV_CAPACITY, CASTY__ENV_TOO_BIG);      \
                   }))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct casty_ctx casty_ctx_t;

/* A message as the handler sees it. `payload` is the runtime's copy, owned
 * by the runtime and valid until the handler returns (copy out what must
 * outlive it); it is aligned for any type of up to 16 bytes' alignment, so a
 * handler may read it as its message struct, through casty_msg_as, which
 * checks the size first. */
typedef struct casty_msg {
    uint32_t type;       /* the tag given to casty_tell */
    uint32_t size;       /* bytes at payload */
    const void *payload; /* NULL when size is 0 */
} casty_msg_t;

/* The payload of `msg` when it holds exactly `size` bytes, else NULL (and
 * NULL when msg is NULL, or when size is 0: a message without payload has
 * nothing to read). A handler reads its message through this check rather
 * than cast msg->payload: the type tag does not vouch for the size, since any
 * sender can tell a known type with a short payload or none, and an
 * unchecked cast then reads past the end, or through NULL. The result is the
 * runtime's copy, valid until the handler returns; the caller owns nothing
 * and frees nothing. Pure: any thread may call it. */
static inline const void *casty_msg_payload(const casty_msg_t *msg, size_t size)
{
    if (msg == NULL || msg->size != size) {
        return NULL;
    }
    return msg->payload;
}

/* casty_msg_as(msg, type): the payload of `msg` as a `const type *` when it
 * is exactly sizeof(type) bytes, else NULL (see casty_msg_payload). A
 * handler answers NULL as a message it does not understand:
 *     const increment_t *inc = casty_msg_as(msg, increment_t);
 *     if (inc == NULL) {
 *         return casty_unhandled();
 *     } */
#ifdef __cplusplus
#define casty_msg_as(msg, type) (static_cast<const type *>(casty_msg_payload((msg), sizeof(type))))
#else
#define casty_msg_as(msg, type) ((const type *)casty_msg_payload((msg), sizeof(type)))
#endif

typedef struct casty_behavior casty_behavior_t;

/* Handles one message; returns the next behavior (the kinds below say what
 * each does). Runs on a worker thread, never on two threads at once for one
 * actor. `ctx`, `msg` and `env` are never NULL, and valid only until it
 * returns; `env` is the behavior's environment, read-only. A handler may
 * tell, spawn, stop, look up and read statistics; the calls that block
 * (casty_ask, the waits, shutdown, destroy) return CASTY_EDEADLK there, and
 * a wait of its own (a lock, a sleep) holds the worker all the while. */
typedef casty_behavior_t (*casty_receive_fn)(casty_ctx_t *ctx, const casty_msg_t *msg,
                                             const void *env);

/* Runs once when the actor starts, before its first message, and at once
 * when a handler returns a setup behavior; returns the behavior that handles
 * messages. It may return a receive; casty_stopped() (the actor stops, and
 * that is no error); casty_ignore() (the actor drops every message); or
 * another setup, run at once, up to 16 setups in a chain. casty_same() and
 * casty_unhandled() give the actor no behavior, nor does a longer chain or a
 * malformed behavior: the actor then stops, counted in the statistics'
 * invalid_behaviors. It runs as a receive function does, on a worker, with
 * a context for the actor (a setup is a natural place for casty_ctx_spawn)
 * and under the same rules. */
typedef casty_behavior_t (*casty_setup_fn)(casty_ctx_t *ctx, const void *env);

typedef enum casty_behavior_kind {
    CASTY_BEHAVIOR_SAME = 0,  /* keep the current behavior, no copy */
    CASTY_BEHAVIOR_RECEIVE,   /* handle messages with fn.receive */
    CASTY_BEHAVIOR_SETUP,     /* run fn.setup: at start, or at once when returned */
    CASTY_BEHAVIOR_STOPPED,   /* stop the actor (children first) */
    CASTY_BEHAVIOR_UNHANDLED, /* this message was not understood: count it, keep the behavior */
    CASTY_BEHAVIOR_IGNORE,    /* drop every later message */
    CASTY_BEHAVIOR_RECEIVE_SIGNALS, /* as receive, and fn.receive also gets signals
                                       (casty/signal.h) */
    CASTY_BEHAVIOR_FAILED,          /* this message failed: the code is in env
                                       (casty_failed, casty/supervise.h) */
} casty_behavior_kind_t;

/* C++ spells C's _Alignas as alignas; both align the member alike, so the
 * struct below has one layout in both languages. */
#ifdef __cplusplus
#define CASTY__ALIGNAS(n) alignas(n)
#else
#define CASTY__ALIGNAS(n) _Alignas(n)
#endif

/* A behavior, by value: build one with the macros and functions below. A
 * spawn takes a receive or a setup only (CASTY_EINVAL otherwise). A receive
 * or a setup built by hand with no function or an env_size above
 * CASTY_ENV_CAPACITY, or a kind outside the enum, is refused by a spawn too
 * and, returned by a handler or a setup, stops the actor (casty_setup_fn). */
struct casty_behavior {
    uint32_t kind;     /* a casty_behavior_kind_t */
    uint32_t env_size; /* bytes of env in use */
    union {
        casty_receive_fn receive;
        casty_setup_fn setup;
    } fn;
    CASTY__ALIGNAS(16) unsigned char env[CASTY_ENV_CAPACITY];
};

static inline casty_behavior_t casty__behavior_make(casty_behavior_kind_t kind, const void *env,
                                                    size_t size)
{
    casty_behavior_t b;
    b.kind = (uint32_t)kind;
    b.env_size = (uint32_t)size;
    b.fn.receive = NULL;
    if (size > 0) {
        memcpy(b.env, env, size);
    }
    return b;
}

/* casty_behavior_build(kind, receive, setup, env, size): the behavior that
 * casty_receive, casty_receive_signals and casty_setup (below) make, for a
 * caller that has its environment's size only at run time. `kind` is
 * CASTY_BEHAVIOR_RECEIVE or CASTY_BEHAVIOR_RECEIVE_SIGNALS, with `receive`
 * as its function, or CASTY_BEHAVIOR_SETUP, with `setup`; the other is
 * NULL. The `size` bytes at `env` are copied (`env` may be NULL when `size`
 * is 0) and stay the caller's. A `size` above CASTY_ENV_CAPACITY copies
 * nothing and gives a behavior that a spawn refuses (CASTY_EINVAL) and that
 * stops an actor whose handler returns it, as does a NULL `env` with a
 * `size`, or a kind with no function. Touches no system; any thread.
 *
 * Out of line on purpose. Built inline, gcc assembled the result on the
 * handler's stack with narrow stores and copied it out with wide loads,
 * each of which waited for the stores to drain (a failed store-to-load
 * forward): four such waits at every handler's return. Out of line, it
 * writes the result 16 aligned bytes at a time, each in one store, so that
 * the copy out and the run loop's copy of the environment wait for none
 * (README: "What each choice bought"). */
CASTY_API casty_behavior_t casty_behavior_build(casty_behavior_kind_t kind,
                                                casty_receive_fn receive, casty_setup_fn setup,
                                                const void *env, size_t size);

static inline casty_behavior_t casty__receive(casty_receive_fn fn, const void *env, size_t size)
{
    return casty_behavior_build(CASTY_BEHAVIOR_RECEIVE, fn, NULL, env, size);
}

static inline casty_behavior_t casty__receive_kind(casty_behavior_kind_t kind, casty_receive_fn fn,
                                                   const void *env, size_t size)
{
    return casty_behavior_build(kind, fn, NULL, env, size);
}

static inline casty_behavior_t casty__setup(casty_setup_fn fn, const void *env, size_t size)
{
    return casty_behavior_build(CASTY_BEHAVIOR_SETUP, NULL, fn, env, size);
}

/* casty_receive(fn, env): a behavior that handles messages with `fn`, over a
 * copy of `env` (an lvalue: a variable or a struct member), taken at once, so
 * later changes to the variable do not reach the behavior. `env` must be the
 * state itself, a struct or a scalar: a pointer or an array fails to compile
 * (to capture a pointer on purpose, wrap it in a struct; what it points at
 * stays the caller's to keep alive and to share safely), and so does a value
 * larger than CASTY_ENV_CAPACITY. A NULL `fn` compiles, but a spawn refuses
 * it (CASTY_EINVAL) and an actor whose handler returns it stops. Touches no
 * system; any thread. */
#define casty_receive(fn, env) casty__receive((fn), &(env), CASTY__ENV_SIZE(env))

/* casty_receive_stateless(fn): a behavior with no captured environment;
 * `fn` gets env == a pointer to zero bytes, which it must not read. `fn` as
 * in casty_receive. */
#define casty_receive_stateless(fn) casty__receive((fn), NULL, 0)

/* casty_receive_signals(fn, env), casty_receive_signals_stateless(fn): as
 * casty_receive and casty_receive_stateless, and `fn` also receives the
 * runtime's signals (post-stop, pre-restart, a watched actor's stop), as
 * messages of the reserved types of casty/signal.h. A behavior made with
 * casty_receive gets none: it need not know they exist. */
#define casty_receive_signals(fn, env)                                                             \
    casty__receive_kind(CASTY_BEHAVIOR_RECEIVE_SIGNALS, (fn), &(env), CASTY__ENV_SIZE(env))
#define casty_receive_signals_stateless(fn)                                                        \
    casty__receive_kind(CASTY_BEHAVIOR_RECEIVE_SIGNALS, (fn), NULL, 0)

/* casty_setup(fn, env): runs `fn` over a copy of `env` when the actor starts
 * (see casty_setup_fn); `env` and `fn` are checked as casty_receive's are. */
#define casty_setup(fn, env) casty__setup((fn), &(env), CASTY__ENV_SIZE(env))

/* casty_setup_stateless(fn): casty_setup with no environment. */
#define casty_setup_stateless(fn) casty__setup((fn), NULL, 0)

/* Keep the current behavior and its environment. As a setup's result it
 * leaves the actor with no behavior, and the actor stops (casty_setup_fn).
 * Pure, as are the three below; any thread. */
static inline casty_behavior_t casty_same(void)
{
    return casty__behavior_make(CASTY_BEHAVIOR_SAME, NULL, 0);
}

/* Stop the actor once this message is done: its children stop first, then
 * the messages left in its mailbox become dead letters. A setup may return it
 * too. */
static inline casty_behavior_t casty_stopped(void)
{
    return casty__behavior_make(CASTY_BEHAVIOR_STOPPED, NULL, 0);
}

/* The message was not understood: it is counted in the system's `unhandled`
 * statistic, and the behavior stays as it was. As a setup's result it leaves
 * the actor with no behavior, and the actor stops. */
static inline casty_behavior_t casty_unhandled(void)
{
    return casty__behavior_make(CASTY_BEHAVIOR_UNHANDLED, NULL, 0);
}

/* Drop every later message: each is counted in `dropped` without reaching any
 * function, while the message in hand counts as handled. The actor lives on
 * until it is stopped. As a setup's result, the actor drops every message. */
static inline casty_behavior_t casty_ignore(void)
{
    return casty__behavior_make(CASTY_BEHAVIOR_IGNORE, NULL, 0);
}

#ifdef __cplusplus
}
#endif

#endif
