/* The C half of the cxx_layout test (see cxx_layout.h). */
#include <stdalign.h>

#include "casty/casty.h"
#include "cxx_layout.h"

#define SIZE_AND_ALIGNMENT(t) sizeof(t), alignof(t),
#define OFFSET(t, m) offsetof(t, m),

const size_t cxx_layout_in_c[] = {CXX_LAYOUT_FACTS(SIZE_AND_ALIGNMENT, OFFSET)};
const size_t cxx_layout_count_in_c = sizeof cxx_layout_in_c / sizeof cxx_layout_in_c[0];
