#pragma once
// An application's place in its campaign's line (GetApplication,
// WatchApplication): what ApplicationGetInLine (sql/queries/applications.sql)
// reads, and the estimate beyond the exact count, apart from the I/O so that
// the unit tier tests it.

#include <cstdint>
#include <optional>
#include <pqxx/row>

#include "absl/time/time.h"
#include "campaignq/v1/campaignq.pb.h"

namespace campaignq::store {

// Up to this many ahead the position is exact. The statement counts one
// more, so that "more than this" is known.
inline constexpr int64_t kExactPlaceLimit = 10000;

struct Place {
  int64_t ahead = 0;
  bool estimate = false;
};

// `counted` index entries ahead of `own_key` were read (at most
// kExactPlaceLimit + 1), the oldest of them at `window_key`; `head_key` is
// the first in line. Exact while counted <= kExactPlaceLimit. Beyond, the
// line's density over the window read (counted entries over the keys
// [window_key, own_key)) extrapolated over the keys from the head to the
// window: error analysis in docs/api.md "Place in line".
Place PlaceFromCounts(int64_t counted, int64_t window_key, int64_t head_key, int64_t own_key);

struct ApplicationInLine {
  v1::Application application;
  // Unset unless pending or waitlisted in a campaign that has opened.
  std::optional<Place> place;
  // The campaign's progress counters (ApplicationGetInLine) and when the
  // database read them.
  int64_t decided = 0;
  int64_t freed = 0;
  absl::Time sampled;
};

// One ApplicationGetInLine row.
ApplicationInLine ApplicationInLineFromRow(const pqxx::row& row);

}  // namespace campaignq::store
