/* Fault injection, in the test build of the library only (libcasty_faults,
 * compiled with CASTY__FAULT_INJECTION; see lib/meson.build): switches that
 * make the runtime's allocations fail, so that tests can show what still
 * works without memory. The library that is installed has none of this. */
#ifndef CASTY_LIB_FAULTS_H
#define CASTY_LIB_FAULTS_H

#include <stdatomic.h>
#include <stdint.h>

#ifdef CASTY__FAULT_INJECTION
/* While nonzero, every allocation of an envelope fails (tell returns
 * CASTY_ENOMEM). Any thread may set it. */
extern _Atomic uint32_t casty__fault_no_envelopes;
#endif

#endif
