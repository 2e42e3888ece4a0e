# Sanitizer builds exclude each other and valgrind/gperftools runs
# (STYLE.md: those use the libc allocator and -g, never with ASan).
set(LH_SANITIZE_FLAGS)
if(LH_ASAN AND LH_UBSAN)
  # ASan and UBSan do combine; TSan would not. We allow the pair that the
  # foundation issue asks for ("under ASan+UBSan") and nothing else.
  set(LH_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
elseif(LH_ASAN)
  set(LH_SANITIZE_FLAGS -fsanitize=address -fno-omit-frame-pointer)
elseif(LH_UBSAN)
  set(LH_SANITIZE_FLAGS -fsanitize=undefined -fno-sanitize-recover=all)
endif()
if(LH_SANITIZE_FLAGS)
  add_compile_options(${LH_SANITIZE_FLAGS})
  add_link_options(${LH_SANITIZE_FLAGS})
  set(LH_SANITIZED ON)
else()
  set(LH_SANITIZED OFF)
endif()
