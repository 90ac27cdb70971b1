# uptake_warnings(TARGET): the project's warning set, applied PRIVATE so that
# consumers of a library never inherit it.
function(uptake_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion)
endfunction()
