// server/reflection_service.h without a server: the answers read from the
// generated descriptor pool, as gRPC's own reflection service gives them
// (grpcurl builds its pool from one answer), and the sweeper's interval.

#include "server/reflection_service.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "google/protobuf/descriptor.pb.h"

namespace campaignq::server {
namespace {

using grpc::reflection::v1alpha::ServerReflectionRequest;
using grpc::reflection::v1alpha::ServerReflectionResponse;

const std::vector<std::string> kServices = {"campaignq.v1.CampaignQueue", "grpc.health.v1.Health"};

ServerReflectionResponse Answer(const ServerReflectionRequest& request) {
  // Links campaignq.proto's descriptors into the generated pool.
  v1::Campaign::descriptor();
  return AnswerReflection(request, kServices, *google::protobuf::DescriptorPool::generated_pool());
}

std::set<std::string> FileNames(const ServerReflectionResponse& response) {
  std::set<std::string> names;
  for (const std::string& bytes : response.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    EXPECT_TRUE(file.ParseFromString(bytes));
    names.insert(file.name());
  }
  return names;
}

TEST(AnswerReflectionTest, ListsTheServicesItWasGiven) {
  ServerReflectionRequest request;
  request.set_host("localhost");
  request.set_list_services("*");
  const ServerReflectionResponse response = Answer(request);
  ASSERT_EQ(response.list_services_response().service_size(), 2);
  EXPECT_EQ(response.list_services_response().service(0).name(), kServices[0]);
  EXPECT_EQ(response.list_services_response().service(1).name(), kServices[1]);
  EXPECT_EQ(response.valid_host(), "localhost");
  EXPECT_EQ(response.original_request().list_services(), "*");
}

TEST(AnswerReflectionTest, ASymbolsFileComesWithEveryDependencyOnce) {
  for (const char* symbol : {"campaignq.v1.CampaignQueue", "campaignq.v1.CampaignQueue.Apply",
                             "campaignq.v1.Campaign"}) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    const ServerReflectionResponse response = Answer(request);
    ASSERT_FALSE(response.has_error_response()) << symbol;
    const std::set<std::string> names = FileNames(response);
    EXPECT_EQ(names.size(),
              static_cast<size_t>(response.file_descriptor_response().file_descriptor_proto_size()))
        << symbol << ": a file sent twice";
    for (const char* file : {"campaignq/v1/campaignq.proto", "google/protobuf/timestamp.proto",
                             "google/protobuf/duration.proto"}) {
      EXPECT_EQ(names.count(file), 1u) << symbol << " lacks " << file;
    }
  }
}

TEST(AnswerReflectionTest, UnknownNamesAreNotFoundAndUnknownKindsUnimplemented) {
  ServerReflectionRequest by_name;
  by_name.set_file_by_filename("nope.proto");
  EXPECT_EQ(Answer(by_name).error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  ServerReflectionRequest by_symbol;
  by_symbol.set_file_containing_symbol("campaignq.v1.Nope");
  EXPECT_EQ(Answer(by_symbol).error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  ServerReflectionRequest extension;
  extension.mutable_file_containing_extension()->set_containing_type("campaignq.v1.Campaign");
  extension.mutable_file_containing_extension()->set_extension_number(1000);
  EXPECT_EQ(Answer(extension).error_response().error_code(), grpc::StatusCode::NOT_FOUND);
  ServerReflectionRequest extensions;
  extensions.set_all_extension_numbers_of_type("campaignq.v1.Campaign");
  const ServerReflectionResponse numbers = Answer(extensions);
  EXPECT_FALSE(numbers.has_error_response());
  EXPECT_EQ(numbers.all_extension_numbers_response().base_type_name(), "campaignq.v1.Campaign");
  EXPECT_EQ(numbers.all_extension_numbers_response().extension_number_size(), 0);
  EXPECT_EQ(Answer(ServerReflectionRequest()).error_response().error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(AnswerReflectionTest, AFileByNameIsTheSameAnswerAsBySymbol) {
  ServerReflectionRequest by_name;
  by_name.set_file_by_filename("campaignq/v1/campaignq.proto");
  ServerReflectionRequest by_symbol;
  by_symbol.set_file_containing_symbol("campaignq.v1.CampaignQueue");
  EXPECT_EQ(FileNames(Answer(by_name)), FileNames(Answer(by_symbol)));
}

TEST(ReflectionSweepIntervalTest, AQuarterOfTheTimeoutWithinTenMillisecondsAndOneSecond) {
  EXPECT_EQ(ReflectionSweepInterval(absl::Seconds(1)), std::chrono::milliseconds(250));
  EXPECT_EQ(ReflectionSweepInterval(absl::Milliseconds(8)), std::chrono::milliseconds(10));
  EXPECT_EQ(ReflectionSweepInterval(absl::Minutes(1)), std::chrono::seconds(1));
}

}  // namespace
}  // namespace campaignq::server
