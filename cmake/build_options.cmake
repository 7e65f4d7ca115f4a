# Build options shared by every target (included once, from the top-level
# CMakeLists.txt, before any target is defined):
#   CAMPAIGNQ_SANITIZE  ""|address|undefined|thread. "address" also enables
#                       UBSan (-fsanitize=address,undefined); "thread" cannot be
#                       combined with either. Use one build tree per sanitizer
#                       (scripts/build picks build-asan, build-ubsan, build-tsan).
#   CAMPAIGNQ_WERROR    turn warnings into errors (on in CI: scripts/test).
set(CAMPAIGNQ_SANITIZE "" CACHE STRING "Sanitizer build: address (with UBSan), undefined or thread")
set_property(CACHE CAMPAIGNQ_SANITIZE PROPERTY STRINGS "" address undefined thread)
option(CAMPAIGNQ_WERROR "Treat compiler warnings as errors" OFF)

add_compile_options(-Wall -Wextra -Wno-unused-parameter)
# Debug info names paths relative to the checkout, so that a -g object does
# not depend on where the checkout is: ccache then serves a clean clone
# (scripts/build-lib.sh, campaignq_use_ccache) and builds are reproducible.
# Debuggers and symbolizers resolve the paths from the checkout's root.
add_compile_options(-fdebug-prefix-map=${CMAKE_SOURCE_DIR}=.)
if(CAMPAIGNQ_WERROR)
  add_compile_options(-Werror)
endif()

# Link with lld (or gold) when the toolchain has it: CI links about 190
# executables in four trees, and GNU ld takes twice gold's time and four
# times lld's for each (store_test: 4.5 s, 2.2 s, 1.1 s).
include(CheckLinkerFlag)
check_linker_flag(CXX -fuse-ld=lld CAMPAIGNQ_HAS_LLD)
if(CAMPAIGNQ_HAS_LLD)
  add_link_options(-fuse-ld=lld)
else()
  check_linker_flag(CXX -fuse-ld=gold CAMPAIGNQ_HAS_GOLD)
  if(CAMPAIGNQ_HAS_GOLD)
    add_link_options(-fuse-ld=gold)
  endif()
endif()

if(CAMPAIGNQ_SANITIZE STREQUAL "address")
  set(_campaignq_sanitize_flags -fsanitize=address,undefined)
elseif(CAMPAIGNQ_SANITIZE STREQUAL "undefined")
  set(_campaignq_sanitize_flags -fsanitize=undefined)
elseif(CAMPAIGNQ_SANITIZE STREQUAL "thread")
  set(_campaignq_sanitize_flags -fsanitize=thread)
elseif(NOT CAMPAIGNQ_SANITIZE STREQUAL "")
  message(FATAL_ERROR "CAMPAIGNQ_SANITIZE must be empty, address, undefined or thread, "
                      "not '${CAMPAIGNQ_SANITIZE}'")
endif()
if(_campaignq_sanitize_flags)
  # UBSan reports must fail the test that triggered them, not scroll by.
  # Frame pointers keep the reports' stacks whole in RelWithDebInfo.
  add_compile_options(${_campaignq_sanitize_flags} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(${_campaignq_sanitize_flags})
  # -Og -g1, not RelWithDebInfo's -O2 -g: a fresh CI machine builds both
  # sanitizer trees from nothing, and their test files (gtest's macros under
  # ASan+UBSan) compile 3.7x faster so (store_test.cc: 81 s -> 22 s). -Og
  # optimises fewer checked accesses away than -O2, and -g1's line tables
  # keep every report's stack symbolised with file and line.
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-Og -g1 -DNDEBUG")
  # GCC warns that sanitizers raise false -Wmaybe-uninitialized reports (GCC 12
  # does so inside <regex>); the plain build keeps that warning an error.
  if(CAMPAIGNQ_WERROR AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-error=maybe-uninitialized)
  endif()
endif()
