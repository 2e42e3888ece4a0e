# Every dependency comes from a Debian package; each failure names it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run ci/setup)")
endif()

macro(lh_require_pkg var module debpkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found: apt-get install ${debpkg} (or run ci/setup)")
  endif()
endmacro()

lh_require_pkg(RDKAFKA  rdkafka     librdkafka-dev)
lh_require_pkg(TCMALLOC libtcmalloc libgoogle-perftools-dev)
lh_require_pkg(PROFILER libprofiler libgoogle-perftools-dev)
lh_require_pkg(CUNIT    cunit       libcunit1-dev)
lh_require_pkg(LIBDW    libdw       libdw-dev)
lh_require_pkg(EXPAT    expat       libexpat1-dev)
lh_require_pkg(LIBCURL  libcurl     libcurl4-openssl-dev)
lh_require_pkg(MHD      libmicrohttpd libmicrohttpd-dev)

find_program(LH_PPROF NAMES google-pprof pprof)
if(NOT LH_PPROF)
  message(FATAL_ERROR "google-pprof not found: apt-get install google-perftools (or run ci/setup)")
endif()
find_program(LH_VALGRIND valgrind)
if(NOT LH_VALGRIND)
  message(FATAL_ERROR "valgrind not found: apt-get install valgrind (or run ci/setup)")
endif()
find_program(LH_VGDB vgdb)

# The tcmalloc shared object that the heap tool preloads into targets.
find_library(LH_TCMALLOC_SO NAMES libtcmalloc.so.4 tcmalloc PATHS ${TCMALLOC_LIBRARY_DIRS})
