// Page tokens (common/store/validation.h): arbitrary text never decodes to
// an id <= 0, a decoded id re-encodes to a token that decodes to the same
// id, and an encoded id decodes back exactly when the store could have
// issued it (id > 0).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/store/validation.h"

namespace {

void Require(bool holds) {
  if (!holds) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace store = campaignq::store;
  const std::string token(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<int64_t> decoded = store::DecodePageToken(token);
  if (decoded.ok()) {
    Require(token.empty() ? *decoded == 0 : *decoded > 0);
    if (*decoded > 0) {
      const absl::StatusOr<int64_t> again =
          store::DecodePageToken(store::EncodePageToken(*decoded));
      Require(again.ok() && *again == *decoded);
    }
  } else {
    Require(decoded.status().code() == absl::StatusCode::kInvalidArgument);
  }

  if (size >= sizeof(int64_t)) {
    int64_t id = 0;
    std::memcpy(&id, data, sizeof id);
    const absl::StatusOr<int64_t> round_trip = store::DecodePageToken(store::EncodePageToken(id));
    Require(round_trip.ok() == (id > 0));
    if (round_trip.ok()) Require(*round_trip == id);
  }
  return 0;
}
