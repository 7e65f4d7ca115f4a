// apply --file's rules without a server (client/apply_file.h): the file's
// two forms, and the split into ApplyBatch calls by count and by bytes.

#include "client/apply_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace campaignq::client {
namespace {

TEST(ApplyFileTest, WithACampaignEveryLineIsAUserIdAsItIs) {
  auto applies = ParseApplyFile("alice\r\n\nbob,with a comma\n", 7);
  ASSERT_TRUE(applies.ok()) << applies.status();
  ASSERT_EQ(applies->size(), 2u);
  EXPECT_EQ((*applies)[0].line, 1);
  EXPECT_EQ((*applies)[0].campaign_id, 7);
  EXPECT_EQ((*applies)[0].user_id, "alice");
  EXPECT_EQ((*applies)[1].line, 3);
  EXPECT_EQ((*applies)[1].user_id, "bob,with a comma");
}

TEST(ApplyFileTest, WithoutOneEveryLineIsCampaignCommaUser) {
  auto applies = ParseApplyFile("1,alice\n2,bob,b\n", 0);
  ASSERT_TRUE(applies.ok()) << applies.status();
  ASSERT_EQ(applies->size(), 2u);
  EXPECT_EQ((*applies)[1].campaign_id, 2);
  EXPECT_EQ((*applies)[1].user_id, "bob,b");
  for (const char* bad : {"1,alice\nbob\n", "1,alice\nx,bob\n"}) {
    auto refused = ParseApplyFile(bad, 0);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(refused.status().message().rfind("line 2: ", 0), 0u) << refused.status();
  }
}

TEST(ApplyFileTest, BatchesAreBoundedByCountAndByBytesInFileOrder) {
  std::vector<FileApply> applies(2500);
  for (size_t i = 0; i < applies.size(); ++i) {
    applies[i] = {static_cast<int>(i + 1), 1, "u" + std::to_string(i)};
  }
  std::vector<BatchRange> batches = SplitIntoBatches(applies, 1000, 1 << 20);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].first, 0u);
  EXPECT_EQ(batches[0].last, 1000u);
  EXPECT_EQ(batches[1].first, 1000u);
  EXPECT_EQ(batches[2].last, 2500u);

  // 500-byte ids: about 510 bytes each in the request, so 10 KiB holds 20.
  for (FileApply& apply : applies) apply.user_id = std::string(500, 'x');
  applies.resize(45);
  batches = SplitIntoBatches(applies, 1000, 10 * 1024);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].last - batches[0].first, 20u);
  EXPECT_EQ(batches[2].last, 45u);
  // One Apply larger than the bound still goes, alone (the server judges it).
  EXPECT_EQ(SplitIntoBatches(applies, 1000, 100).size(), 45u);
}

}  // namespace
}  // namespace campaignq::client
