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
