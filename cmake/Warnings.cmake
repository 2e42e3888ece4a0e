# Project-wide warnings (STYLE.md), probed so an older compiler still builds.
include(CheckCCompilerFlag)

set(LH_WARNING_FLAGS)
foreach(flag -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
             -Wmissing-prototypes -Wformat=2 -Wvla -Wpointer-arith
             -Wundef -Wcast-align -Wno-unused-parameter)
  string(MAKE_C_IDENTIFIER "LH_HAS${flag}" var)
  check_c_compiler_flag(${flag} ${var})
  if(${var})
    list(APPEND LH_WARNING_FLAGS ${flag})
  endif()
endforeach()
if(LH_WERROR)
  list(APPEND LH_WARNING_FLAGS -Werror)
endif()

# lh_target_defaults(target): the flags every target of ours gets.
function(lh_target_defaults target)
  target_compile_options(${target} PRIVATE ${LH_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE _GNU_SOURCE)
endfunction()
