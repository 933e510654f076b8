// The C++ half of the cxx_layout test: every public struct and enum has the
// size, alignment and member offsets that C gives it (see cxx_layout.h).
#include <cstdio>

#include "casty/casty.h"
#include "cxx_layout.h"

namespace
{

struct fact {
    const char *what;
    size_t value;
};

#define SIZE_AND_ALIGNMENT(t) {"size of " #t, sizeof(t)}, {"alignment of " #t, alignof(t)},
#define OFFSET(t, m) {"offset of " #t "." #m, offsetof(t, m)},

const fact in_cxx[] = {CXX_LAYOUT_FACTS(SIZE_AND_ALIGNMENT, OFFSET)};
const size_t count_in_cxx = sizeof in_cxx / sizeof in_cxx[0];

} // namespace

int main()
{
    if (cxx_layout_count_in_c != count_in_cxx) {
        std::printf("C computed %zu facts, C++ %zu\n", cxx_layout_count_in_c, count_in_cxx);
        return 1;
    }
    int differ = 0;
    for (size_t i = 0; i < count_in_cxx; i++) {
        if (in_cxx[i].value != cxx_layout_in_c[i]) {
            std::printf("%s: %zu in C, %zu in C++\n", in_cxx[i].what, cxx_layout_in_c[i],
                        in_cxx[i].value);
            differ++;
        }
    }
    std::printf("%zu layout facts, %d differ\n", count_in_cxx, differ);
    return differ == 0 ? 0 : 1;
}
