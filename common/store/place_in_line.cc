#include "common/store/place_in_line.h"

#include <algorithm>
#include <cmath>

#include "common/store/rows.h"

namespace campaignq::store {

Place PlaceFromCounts(int64_t counted, int64_t window_key, int64_t head_key, int64_t own_key) {
  if (counted <= kExactPlaceLimit) return {counted, false};
  // Keys are unique, so the window spans at least `counted` keys; a head
  // after the window (it cannot be: the head is the oldest) adds nothing.
  const double span = static_cast<double>(std::max<int64_t>(own_key - window_key, counted));
  // A pre-queue ahead of an arrivals' window (keys below 0, migration 0009)
  // is a different key space: its keys say nothing of its length. Then only
  // the arrivals' stretch from key 0 is extrapolated, a lower bound.
  const int64_t from = head_key < 0 && window_key >= 0 ? 0 : head_key;
  const double before = static_cast<double>(std::max<int64_t>(window_key - from, 0));
  const double density = static_cast<double>(counted) / span;
  return {counted + static_cast<int64_t>(std::llround(before * density)), true};
}

ApplicationInLine ApplicationInLineFromRow(const pqxx::row& row) {
  ApplicationInLine result;
  result.application = ApplicationFromRow(row, 8);
  if (row[6].as<bool>()) {
    const int64_t counted = row[0].as<int64_t>();
    // No row ahead: no window, no head needed.
    if (counted == 0) {
      result.place = Place{0, false};
    } else {
      const int64_t window = row[1].as<int64_t>();
      result.place = PlaceFromCounts(
          counted, window, row[2].is_null() ? window : row[2].as<int64_t>(), row[7].as<int64_t>());
    }
  }
  result.decided = row[3].as<int64_t>();
  result.freed = row[4].as<int64_t>();
  result.sampled = absl::FromUnixMicros(row[5].as<int64_t>());
  return result;
}

}  // namespace campaignq::store
