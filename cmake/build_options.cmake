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
if(CAMPAIGNQ_WERROR)
  add_compile_options(-Werror)
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
  # GCC warns that sanitizers raise false -Wmaybe-uninitialized reports (GCC 12
  # does so inside <regex>); the plain build keeps that warning an error.
  if(CAMPAIGNQ_WERROR AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-error=maybe-uninitialized)
  endif()
endif()
