// Unit tier: the input rules of common/store/validation.h (user ids,
// campaign names, caps, ids, page sizes and tokens) and the database words of
// application statuses. No database.

#include "common/store/validation.h"

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace campaignq {
namespace {

TEST(ValidateUserId, AcceptsOneTo128PrintableCharacters) {
  EXPECT_TRUE(store::ValidateUserId("a").ok());
  EXPECT_TRUE(store::ValidateUserId("user-42@example.com").ok());
  EXPECT_TRUE(store::ValidateUserId("with space and ~!").ok());
  EXPECT_TRUE(store::ValidateUserId(std::string(128, 'x')).ok());
  // 128 code points of two bytes each: the limit counts characters.
  std::string accented;
  for (int i = 0; i < 128; ++i) accented += "\xc3\xa9";  // é
  EXPECT_TRUE(store::ValidateUserId(accented).ok());
  EXPECT_TRUE(store::ValidateUserId("\xe6\x97\xa5\xe6\x9c\xac").ok());  // 日本
}

TEST(ValidateUserId, RejectsEmptyTooLongAndControlCharacters) {
  const std::string bad[] = {
      "",
      std::string(129, 'x'),
      "a\nb",
      "tab\there",
      std::string("nul\0x", 5),
      "\x01",
      "bell\x07",
      "del\x7f",
      "\xff\xfe",  // not UTF-8
      "\xc3",      // truncated sequence
      "\xe6\x97",  // truncated sequence
      "a\x80",     // stray continuation byte
  };
  for (const std::string& user_id : bad) {
    const absl::Status status = store::ValidateUserId(user_id);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
        << "user_id of length " << user_id.size();
    EXPECT_TRUE(absl::StrContains(status.message(), "user_id")) << status;
  }
}

TEST(ValidateCampaignName, LengthAndPrintable) {
  EXPECT_TRUE(store::ValidateCampaignName("Spring launch").ok());
  EXPECT_TRUE(store::ValidateCampaignName(std::string(200, 'n')).ok());
  EXPECT_EQ(store::ValidateCampaignName("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateCampaignName(std::string(201, 'n')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateCampaignName("line\nbreak").code(), absl::StatusCode::kInvalidArgument);
}

TEST(ValidateMaxParticipants, UnsetOrPositive) {
  EXPECT_TRUE(store::ValidateMaxParticipants(std::nullopt).ok());
  EXPECT_TRUE(store::ValidateMaxParticipants(1).ok());
  EXPECT_TRUE(store::ValidateMaxParticipants(2147483647).ok());
  EXPECT_EQ(store::ValidateMaxParticipants(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ValidateMaxParticipants(-1).code(), absl::StatusCode::kInvalidArgument);
}

// The bounds are the edges: 1 s and 24 h are accepted, a millisecond
// beyond either is not; the digest of a retry tells the holds apart.
TEST(ValidateHolds, BoundsCapAndTheirDigest) {
  v1::CreateCampaignRequest request;
  request.set_max_participants(10);
  absl::StatusOr<store::Holds> none = store::ValidateHolds(request);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->hold_duration_ms.has_value());
  EXPECT_FALSE(none->max_active_holds.has_value());
  const std::string without_hold = store::CreateCampaignDigest(request);

  for (int64_t ms : {store::kMinHoldDurationMs, store::kMaxHoldDurationMs}) {
    request.mutable_hold_duration()->set_seconds(ms / 1000);
    absl::StatusOr<store::Holds> holds = store::ValidateHolds(request);
    ASSERT_TRUE(holds.ok()) << holds.status();
    EXPECT_EQ(holds->hold_duration_ms, ms);
  }
  request.mutable_hold_duration()->set_seconds(0);
  request.mutable_hold_duration()->set_nanos(999'000'000);
  EXPECT_EQ(store::ValidateHolds(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.mutable_hold_duration()->set_seconds(store::kMaxHoldDurationMs / 1000);
  request.mutable_hold_duration()->set_nanos(1'000'000);
  EXPECT_EQ(store::ValidateHolds(request).status().code(), absl::StatusCode::kInvalidArgument);

  request.mutable_hold_duration()->set_seconds(90);
  request.mutable_hold_duration()->set_nanos(500'000'000);
  request.set_max_active_holds(3);
  absl::StatusOr<store::Holds> both = store::ValidateHolds(request);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->hold_duration_ms, 90'500);
  EXPECT_EQ(both->max_active_holds, 3);
  const std::string with_holds = store::CreateCampaignDigest(request);
  EXPECT_NE(with_holds, without_hold);
  request.set_max_active_holds(4);
  EXPECT_NE(store::CreateCampaignDigest(request), with_holds);

  request.clear_max_participants();
  const absl::Status uncapped = store::ValidateHolds(request).status();
  EXPECT_EQ(uncapped.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(uncapped.message(), "needs max_participants")) << uncapped;
}

TEST(ValidateId, Positive) {
  EXPECT_TRUE(store::ValidateId(1, "campaign_id").ok());
  EXPECT_EQ(store::ValidateId(0, "campaign_id").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(store::ValidateId(-5, "campaign_id").message(), "campaign_id"));
}

TEST(PageSize, DefaultRangeAndErrors) {
  EXPECT_EQ(*store::ResolvePageSize(0), store::kDefaultPageSize);
  EXPECT_EQ(*store::ResolvePageSize(1), 1);
  EXPECT_EQ(*store::ResolvePageSize(1000), 1000);
  EXPECT_EQ(store::ResolvePageSize(1001).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store::ResolvePageSize(-1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PageToken, RoundTrips) {
  EXPECT_EQ(*store::DecodePageToken(""), 0);
  for (int64_t id : {int64_t{1}, int64_t{42}, int64_t{1} << 40, int64_t{9223372036854775807}}) {
    const std::string token = store::EncodePageToken(id);
    EXPECT_FALSE(token.empty());
    auto decoded = store::DecodePageToken(token);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, id);
  }
}

TEST(PageToken, GarbageIsRejected) {
  const std::string garbage[] = {
      "garbage",
      "!!!!",
      "42",
      "YWZ0ZXI6",  // "after:" with no id
      store::EncodePageToken(0),
      store::EncodePageToken(-3),
      "after:7",  // the raw text, not the encoded token
  };
  for (const std::string& token : garbage) {
    EXPECT_EQ(store::DecodePageToken(token).status().code(), absl::StatusCode::kInvalidArgument)
        << "token '" << token << "'";
  }
}

TEST(ApplicationStatusWords, RoundTrip) {
  for (auto status : {v1::APPLICATION_STATUS_PENDING, v1::APPLICATION_STATUS_APPROVED,
                      v1::APPLICATION_STATUS_WAITLISTED, v1::APPLICATION_STATUS_REJECTED,
                      v1::APPLICATION_STATUS_CANCELLED, v1::APPLICATION_STATUS_FAILED}) {
    const std::string word = store::ApplicationStatusWord(status);
    EXPECT_FALSE(word.empty());
    EXPECT_EQ(store::ApplicationStatusFromWord(word), status) << word;
  }
  EXPECT_STREQ(store::ApplicationStatusWord(v1::APPLICATION_STATUS_UNSPECIFIED), "");
  EXPECT_EQ(store::ApplicationStatusFromWord("approvedd"), v1::APPLICATION_STATUS_UNSPECIFIED);
}

}  // namespace
}  // namespace campaignq
