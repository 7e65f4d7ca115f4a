# The one way to register a test (tests/, tests/server, tests/client,
# tests/lab). Every test carries exactly one tier label:
#   unit  no database, no processes
#   db    against real PostgreSQL (support/test_postgres.h)
#   e2e   the real binaries over gRPC
#   faults  the real binaries while PostgreSQL and the network misbehave
#   pressure  the real binaries under a steady load while the xmin horizon is
#             pinned, overloaded, connections cut (tests/pressure_test.cc)
#   ha    the real binaries on a Patroni + etcd cluster while the primary
#         changes (scripts/ha-cluster)
#   bench-smoke  bench/run --smoke (bench/CMakeLists.txt)
#   browser  the web console in headless Chromium (tests/console)
#   fuzz  scripts/fuzz: every libFuzzer target of fuzz/ for 15 s (clang)
#
# campaignq_add_test(NAME name LABEL unit|db|e2e|faults|pressure|ha|bench-smoke|browser|fuzz
#                    SOURCES a.cc [b.cc ...] | COMMAND program [args ...]
#                    [LIBS lib ...] [DEPENDS target ...] [DEFINITIONS NAME=value ...]
#                    [TIMEOUT seconds])
#
# SOURCES: one GoogleTest executable `name` (linked with LIBS and
# GTest::gtest_main), registered as one ctest test, so that a process-wide
# PostgreSQL cluster is started once per binary, not once per test case.
# COMMAND: a test that is not a GoogleTest binary (e.g. the format check).
# DEPENDS: targets built before the test (e2e: the binaries it runs).
# DEFINITIONS: compile definitions of the executable (here, because a test of
# a tier the tree leaves out has no target to name afterwards).
# TIMEOUT defaults to 60 s (unit), 120 s (db) and 600 s (the others).
#
# CAMPAIGNQ_TEST_TIERS: the tiers this tree builds and registers (default all).
# The sanitizer trees run fewer (scripts/test-sanitized), and build no test
# executable they would never run.
set(CAMPAIGNQ_ALL_TEST_TIERS unit db e2e faults pressure ha bench-smoke browser fuzz)
set(CAMPAIGNQ_TEST_TIERS "${CAMPAIGNQ_ALL_TEST_TIERS}" CACHE STRING
    "The test tiers this tree builds and registers (a ;-list)")
foreach(_campaignq_tier IN LISTS CAMPAIGNQ_TEST_TIERS)
  if(NOT _campaignq_tier IN_LIST CAMPAIGNQ_ALL_TEST_TIERS)
    message(FATAL_ERROR "CAMPAIGNQ_TEST_TIERS: unknown tier '${_campaignq_tier}' "
                        "(${CAMPAIGNQ_ALL_TEST_TIERS})")
  endif()
endforeach()

function(campaignq_add_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SOURCES;COMMAND;LIBS;DEPENDS;DEFINITIONS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "campaignq_add_test: unexpected arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_NAME)
    message(FATAL_ERROR "campaignq_add_test: NAME is required")
  endif()
  if(NOT ARG_LABEL IN_LIST CAMPAIGNQ_ALL_TEST_TIERS)
    message(FATAL_ERROR
            "campaignq_add_test(${ARG_NAME}): LABEL must be one of ${CAMPAIGNQ_ALL_TEST_TIERS}")
  endif()
  if(ARG_SOURCES AND ARG_COMMAND OR NOT ARG_SOURCES AND NOT ARG_COMMAND)
    message(FATAL_ERROR "campaignq_add_test(${ARG_NAME}): give SOURCES or COMMAND, not both")
  endif()
  if(NOT ARG_LABEL IN_LIST CAMPAIGNQ_TEST_TIERS)
    return()
  endif()
  if(NOT ARG_TIMEOUT)
    if(ARG_LABEL STREQUAL "unit")
      set(ARG_TIMEOUT 60)
    elseif(ARG_LABEL STREQUAL "db")
      set(ARG_TIMEOUT 120)
    else()
      set(ARG_TIMEOUT 600)
    endif()
  endif()

  if(ARG_SOURCES)
    add_executable(${ARG_NAME} ${ARG_SOURCES})
    target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest_main)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
    if(ARG_DEPENDS)
      add_dependencies(${ARG_NAME} ${ARG_DEPENDS})
    endif()
    if(ARG_DEFINITIONS)
      target_compile_definitions(${ARG_NAME} PRIVATE ${ARG_DEFINITIONS})
    endif()
  else()
    if(ARG_LIBS OR ARG_DEPENDS OR ARG_DEFINITIONS)
      message(FATAL_ERROR "campaignq_add_test(${ARG_NAME}): LIBS, DEPENDS and DEFINITIONS need SOURCES")
    endif()
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_COMMAND})
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()
