/* Casty for C: actors whose handlers return their next behavior, run by a
 * work-stealing pool of threads. Include this header for the whole API. */
#ifndef CASTY_H
#define CASTY_H

#include "casty/api.h"
#include "casty/ask.h"
#include "casty/behavior.h"
#include "casty/breaker.h"
#include "casty/config.h"
#include "casty/context.h"
#include "casty/error.h"
#include "casty/events.h"
#include "casty/inbox.h"
#include "casty/mailbox.h"
#include "casty/ref.h"
#include "casty/signal.h"
#include "casty/supervise.h"
#include "casty/system.h"
#include "casty/timer.h"
#include "casty/watch.h"

#endif
