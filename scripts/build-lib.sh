# shellcheck shell=bash
# Shared by scripts/build and scripts/test (sourced, not run).

# The build tree for $CAMPAIGNQ_SANITIZE: $CAMPAIGNQ_BUILD_DIR when set, else
# build/ (no sanitizer), build-asan (address, with UBSan), build-ubsan
# (undefined) or build-tsan (thread) under the repository root $1.
campaignq_build_dir() {
  local root=$1 dir
  case "${CAMPAIGNQ_SANITIZE:-}" in
    "") dir=$root/build ;;
    address) dir=$root/build-asan ;;
    undefined) dir=$root/build-ubsan ;;
    thread) dir=$root/build-tsan ;;
    *)
      echo "CAMPAIGNQ_SANITIZE must be address, undefined or thread, not '$CAMPAIGNQ_SANITIZE'" >&2
      return 1
      ;;
  esac
  echo "${CAMPAIGNQ_BUILD_DIR:-$dir}"
}

# ccache for a build of the checkout at $1, when ccache is on the PATH:
# appends the cmake option that makes it the compiler launcher to the array
# named $2 and exports its settings. Clean clones in other directories hit
# the cache: CCACHE_BASEDIR makes the paths on the command line relative, and
# cmake/build_options.cmake's -fdebug-prefix-map keeps the build directory
# out of the hash of a -g compile (without it every object of a fresh clone
# was a miss). The size holds the four trees CI builds (build, build-asan,
# build-tsan, build-fuzz) at once, so that one run does not evict what the
# next one needs.
campaignq_use_ccache() {
  local -n cmake_options=$2
  command -v ccache >/dev/null 2>&1 || return 0
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$1}
  export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-12G}
  cmake_options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
}
