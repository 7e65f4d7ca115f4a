#pragma once
// Abseil 20220623 ships Status/StatusOr but no propagation macros.

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define CAMPAIGNQ_CONCAT_INNER(a, b) a##b
#define CAMPAIGNQ_CONCAT(a, b) CAMPAIGNQ_CONCAT_INNER(a, b)

// Returns the status from the enclosing function unless it is OK.
#define RETURN_IF_ERROR(expr)                              \
  do {                                                     \
    ::absl::Status campaignq_status_ = (expr);             \
    if (!campaignq_status_.ok()) return campaignq_status_; \
  } while (0)

// ASSIGN_OR_RETURN(auto x, StatusOrExpr()): binds the value or returns the
// error.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(CAMPAIGNQ_CONCAT(campaignq_or_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()
