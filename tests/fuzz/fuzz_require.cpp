#include <cstdio>
#include <cstdlib>

#include "entries.hpp"

namespace uptake::fuzz {

void fuzz_require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

}  // namespace uptake::fuzz
