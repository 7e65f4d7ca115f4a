// A hostile client against the real campaignq-server and PostgreSQL
// (docs/fuzzing.md): random bytes as the request of every method, invalid
// UTF-8, NUL bytes, a 4 MiB string, negative, zero and overflowing numbers,
// unknown enum values, huge page sizes, forged page tokens, 1,000 watches
// from one principal and slowloris connections. The server must stay up,
// answer each call with a documented status and a message that shows no
// database text, store nothing, and keep serving another principal
// promptly throughout.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/client_unary_call.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"
#include "security/crypto_fixture.h"
#include "server/security/token_file.h"
#include "support/stack.h"

namespace campaignq::testing {
namespace {

using server::security::Sha256Hex;

constexpr char kHostile[] = "hostile-token-1";      // admin: may call every method
constexpr char kBystander[] = "bystander-token-1";  // another service principal
constexpr char kAdmin[] = "admin-token-1";          // sets the stage
constexpr int kMaxWatchesPerCaller = 16;
// How long a bystander's call may take while the hostile load runs. Normal
// is a few milliseconds; this bound is generous for a loaded CI machine and
// still far below the 30 s a starved server would show.
constexpr auto kPromptly = std::chrono::seconds(3);

std::unique_ptr<grpc::ClientContext> Context(
    const std::string& token, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  context->set_deadline(std::chrono::system_clock::now() + timeout);
  return context;
}

// The codes the API documents for a bad or unwelcome request.
bool Documented(grpc::StatusCode code) {
  static const std::set<grpc::StatusCode> kDocumented = {
      grpc::StatusCode::OK,
      grpc::StatusCode::INVALID_ARGUMENT,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::ALREADY_EXISTS,
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      grpc::StatusCode::UNAUTHENTICATED,
      grpc::StatusCode::PERMISSION_DENIED,
      grpc::StatusCode::FAILED_PRECONDITION,
      grpc::StatusCode::OUT_OF_RANGE,
  };
  return kDocumented.count(code) > 0;
}

// Text that would mean a database error reached the caller.
bool LeaksDatabaseText(const std::string& message) {
  const std::string lower = absl::AsciiStrToLower(message);
  for (const char* word : {"error:", "sqlstate", "postgres", "relation", "pqxx", "libpq"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  // "pq" as a word of its own (not inside e.g. "opaque").
  for (absl::string_view token : absl::StrSplit(lower, absl::ByAnyChar(" :;,.()\"'"))) {
    if (token == "pq") return true;
  }
  return false;
}

class HostileClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    stack_ = new Stack("hostile-client");
    WriteFile(stack_->dir() + "/tokens",
              absl::StrCat(Sha256Hex(kHostile), " admin hostile\n", Sha256Hex(kBystander),
                           " service bystander\n", Sha256Hex(kAdmin), " admin setup\n"));
    stack_->StartServer({"--auth-tokens-file=" + stack_->dir() + "/tokens",
                         absl::StrCat("--max-watches-per-caller=", kMaxWatchesPerCaller)});
    // One campaign and one pending application (no worker runs: it stays
    // pending, so that a watch of it stays open).
    auto stub = stack_->NewStub();
    v1::CreateCampaignRequest create;
    create.set_name("target");
    create.set_max_participants(10);
    v1::Campaign campaign;
    ASSERT_TRUE(stub->CreateCampaign(Context(kAdmin).get(), create, &campaign).ok());
    campaign_id_ = campaign.id();
    v1::ApplyRequest apply;
    apply.set_campaign_id(campaign_id_);
    apply.set_user_id("user-1");
    v1::Application application;
    ASSERT_TRUE(stub->Apply(Context(kBystander).get(), apply, &application).ok());
    application_id_ = application.id();
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(stack_->server(), nullptr);
    channel_ = grpc::CreateChannel(stack_->address(), grpc::InsecureChannelCredentials());
    stub_ = v1::CampaignQueue::NewStub(channel_);
    rows_before_ = Rows();
  }

  void TearDown() override {
    EXPECT_TRUE(stack_->server()->Running()) << "the server died";
    EXPECT_EQ(Rows(), rows_before_) << "a hostile call stored something";
    EXPECT_TRUE(BystanderServedPromptly());
  }

  static std::pair<int64_t, int64_t> Rows() {
    return {stack_->Scalar("SELECT count(*) FROM campaigns"),
            stack_->Scalar("SELECT count(*) FROM applications")};
  }

  // A GetCampaign as the other principal, on its own channel: OK within
  // kPromptly.
  static bool BystanderServedPromptly() {
    auto stub = stack_->NewStub();
    v1::GetCampaignRequest request;
    request.set_campaign_id(campaign_id_);
    v1::Campaign campaign;
    const auto start = std::chrono::steady_clock::now();
    const grpc::Status status = stub->GetCampaign(Context(kBystander).get(), request, &campaign);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    EXPECT_LT(took, kPromptly);
    return status.ok() && took < kPromptly;
  }

  // Expects `status` documented and free of database text; `what` names the call.
  // A request that does not parse as its message (random bytes, invalid
  // UTF-8 in a string field) is the client's mistake: INVALID_ARGUMENT
  // (server/unparsable_request.h), never gRPC's bare INTERNAL.
  static void ExpectClean(const grpc::Status& status, const std::string& what, bool parses = true) {
    if (!parses) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << what << ": " << status.error_message();
    }
    EXPECT_TRUE(Documented(status.error_code()))
        << what << ": " << status.error_code() << " " << status.error_message();
    EXPECT_FALSE(LeaksDatabaseText(status.error_message()))
        << what << ": " << status.error_message();
  }

  // `payload` sent as the request of `method` ("/campaignq.v1.CampaignQueue/X"),
  // as the hostile principal, streaming or not.
  grpc::Status RawCall(const std::string& method, bool streaming, const std::string& payload) {
    grpc::Slice slice(payload);
    const grpc::ByteBuffer request(&slice, 1);
    auto context = Context(kHostile);
    if (streaming) {
      grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::SERVER_STREAMING);
      // A watch that was accepted streams until its deadline: cut it short.
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      std::unique_ptr<grpc::ClientReader<grpc::ByteBuffer>> reader(
          grpc::internal::ClientReaderFactory<grpc::ByteBuffer>::Create(channel_.get(), rpc,
                                                                        context.get(), request));
      grpc::ByteBuffer response;
      if (reader->Read(&response)) {
        context->TryCancel();  // it was accepted: that is all we wanted to know
        while (reader->Read(&response)) {
        }
        reader->Finish().error_code();
        return grpc::Status::OK;
      }
      return reader->Finish();
    }
    grpc::internal::RpcMethod rpc(method.c_str(), grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::ByteBuffer response;
    return grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
        channel_.get(), rpc, context.get(), request, &response);
  }

  // Whether `payload` parses as the request message of `path`.
  static bool Parses(const std::string& path, const std::string& payload) {
    const google::protobuf::MethodDescriptor* method =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            absl::StrReplaceAll(path.substr(1), {{"/", "."}}));
    if (method == nullptr) return false;
    std::unique_ptr<google::protobuf::Message> message(
        google::protobuf::MessageFactory::generated_factory()
            ->GetPrototype(method->input_type())
            ->New());
    return message->ParseFromString(payload);
  }

  // Every method of the service with its path.
  static std::vector<std::pair<std::string, bool>> Methods() {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
            v1::CampaignQueue::service_full_name());
    std::vector<std::pair<std::string, bool>> methods;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      methods.emplace_back(absl::StrCat("/", service->full_name(), "/", method->name()),
                           method->server_streaming());
    }
    return methods;
  }

  static Stack* stack_;
  static int64_t campaign_id_;
  static int64_t application_id_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::CampaignQueue::Stub> stub_;
  std::pair<int64_t, int64_t> rows_before_;
};

Stack* HostileClientTest::stack_ = nullptr;
int64_t HostileClientTest::campaign_id_ = 0;
int64_t HostileClientTest::application_id_ = 0;

// Random bytes as the request of every method; a bystander is served
// promptly while they fly.
TEST_F(HostileClientTest, RandomBytesOnEveryMethod) {
  const auto methods = Methods();
  ASSERT_GE(methods.size(), 15u);
  std::atomic<bool> done{false};
  std::atomic<int> bystander_calls{0};
  std::thread bystander([&] {
    while (!done.load()) {
      if (!BystanderServedPromptly()) break;
      bystander_calls.fetch_add(1);
    }
  });
  std::mt19937 random(20261126);  // fixed: a failure reproduces
  std::map<grpc::StatusCode, int> answers;
  int parsed = 0;
  for (const auto& [method, streaming] : methods) {
    for (int i = 0; i < 40; ++i) {
      std::string payload(std::uniform_int_distribution<int>(0, 300)(random), '\0');
      for (char& c : payload) c = static_cast<char>(random());
      const bool parses = Parses(method, payload);
      parsed += parses;
      const grpc::Status status = RawCall(method, streaming, payload);
      ++answers[status.error_code()];
      ExpectClean(status, absl::StrCat(method, " <- ", absl::BytesToHexString(payload)), parses);
      if (HasFailure()) break;
    }
  }
  done = true;
  bystander.join();
  EXPECT_GT(bystander_calls.load(), 0);
  std::string summary;
  for (const auto& [code, count] : answers) absl::StrAppend(&summary, " code ", code, ": ", count);
  std::printf("random payloads: %zu methods x 40, %d parsed;%s; bystander calls %d\n",
              methods.size(), parsed, summary.c_str(), bystander_calls.load());
}

// A value no row has and no check likes: zero, negative, overflowing.
template <typename Int>
Int HostileNumber(std::mt19937& random) {
  switch (random() % 5) {
    case 0:
      return 0;
    case 1:
      return -1 - static_cast<Int>(random() % 1000);
    case 2:
      return std::numeric_limits<Int>::min();
    case 3:
      return std::numeric_limits<Int>::max();
    default:  // large: beyond any id this test's database issues
      return std::numeric_limits<Int>::max() - static_cast<Int>(random() % 100000);
  }
}

// Valid UTF-8 that no text field accepts: empty, too long, or with a
// control character (NUL included) among printable ones.
std::string HostileText(std::mt19937& random) {
  switch (random() % 3) {
    case 0:
      return "";
    case 1:
      return std::string(201 + random() % 5000, 'x');
    default: {
      std::string text(1 + random() % 40, 'a');
      for (char& c : text) c = static_cast<char>(' ' + random() % 95);
      text.insert(random() % text.size(), 1, "\0\x01\n\t\x7f"[random() % 5]);
      return text;
    }
  }
}

// A request of `type` that parses, every field set to a hostile value.
std::string HostileRequest(const google::protobuf::Descriptor* type, std::mt19937& random) {
  using google::protobuf::FieldDescriptor;
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  std::vector<google::protobuf::Message*> todo = {message.get()};
  while (!todo.empty()) {
    google::protobuf::Message* current = todo.back();
    todo.pop_back();
    const google::protobuf::Reflection* reflection = current->GetReflection();
    const google::protobuf::Descriptor* descriptor = current->GetDescriptor();
    for (int i = 0; i < descriptor->field_count(); ++i) {
      const FieldDescriptor* field = descriptor->field(i);
      if (field->is_repeated()) continue;
      switch (field->cpp_type()) {
        case FieldDescriptor::CPPTYPE_INT32:
          reflection->SetInt32(current, field, HostileNumber<int32_t>(random));
          break;
        case FieldDescriptor::CPPTYPE_INT64:
          reflection->SetInt64(current, field, HostileNumber<int64_t>(random));
          break;
        case FieldDescriptor::CPPTYPE_BOOL:
          reflection->SetBool(current, field, random() % 2 == 0);
          break;
        case FieldDescriptor::CPPTYPE_ENUM:  // mostly unknown values
          reflection->SetEnumValue(current, field, HostileNumber<int32_t>(random));
          break;
        case FieldDescriptor::CPPTYPE_STRING:
          reflection->SetString(current, field, HostileText(random));
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:  // Timestamp, Duration
          todo.push_back(reflection->MutableMessage(current, field));
          break;
        default:
          break;
      }
    }
  }
  return message->SerializeAsString();
}

// Well-formed requests with hostile values in every field, on every
// method: each parses, so each must get a documented code.
TEST_F(HostileClientTest, HostileFieldsOnEveryMethod) {
  std::mt19937 random(1126);
  std::map<grpc::StatusCode, int> answers;
  for (const auto& [method, streaming] : Methods()) {
    const google::protobuf::MethodDescriptor* descriptor =
        google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(
            absl::StrReplaceAll(method.substr(1), {{"/", "."}}));
    ASSERT_NE(descriptor, nullptr) << method;
    for (int i = 0; i < 100; ++i) {
      const std::string payload = HostileRequest(descriptor->input_type(), random);
      ASSERT_TRUE(Parses(method, payload));
      const grpc::Status status = RawCall(method, streaming, payload);
      ++answers[status.error_code()];
      ExpectClean(status, absl::StrCat(method, " <- ", absl::CEscape(payload.substr(0, 200))));
      if (HasFailure()) return;
    }
  }
  std::string summary;
  for (const auto& [code, count] : answers) absl::StrAppend(&summary, " code ", code, ": ", count);
  std::printf("hostile fields:%s\n", summary.c_str());
}

// Malformed text, numbers and enums in well-formed messages: each refused
// with INVALID_ARGUMENT (or NOT_FOUND for an id that does not exist), and
// nothing created.
TEST_F(HostileClientTest, MalformedFields) {
  const std::string invalid_utf8 = "user-\xc3\x28-\xff\xfe";
  const std::string with_nul = std::string("user\0one", 8);
  const std::string long_text(5000, 'x');
  for (const std::string& text :
       {invalid_utf8, with_nul, long_text, std::string("\x01\x7f"), std::string("")}) {
    const bool parses = text != invalid_utf8;  // protobuf refuses invalid UTF-8
    v1::CreateCampaignRequest create;
    create.set_name(text);
    v1::Campaign campaign;
    grpc::Status status = stub_->CreateCampaign(Context(kHostile).get(), create, &campaign);
    ExpectClean(status, "CreateCampaign name", parses);
    EXPECT_FALSE(status.ok());

    v1::ApplyRequest apply;
    apply.set_campaign_id(campaign_id_);
    apply.set_user_id(text);
    v1::Application application;
    status = stub_->Apply(Context(kHostile).get(), apply, &application);
    ExpectClean(status, "Apply user_id", parses);
    EXPECT_FALSE(status.ok());

    create.set_name("fine");
    create.set_request_id(text + std::string(200, 'r'));
    status = stub_->CreateCampaign(Context(kHostile).get(), create, &campaign);
    ExpectClean(status, "CreateCampaign request_id", parses);
    EXPECT_FALSE(status.ok());
  }

  for (int64_t id : {int64_t{0}, int64_t{-1}, std::numeric_limits<int64_t>::min(),
                     std::numeric_limits<int64_t>::max()}) {
    v1::GetCampaignRequest get;
    get.set_campaign_id(id);
    v1::Campaign campaign;
    grpc::Status status = stub_->GetCampaign(Context(kHostile).get(), get, &campaign);
    ExpectClean(status, absl::StrCat("GetCampaign ", id));
    EXPECT_FALSE(status.ok());
    v1::ApplyRequest apply;
    apply.set_campaign_id(id);
    apply.set_user_id("user-2");
    v1::Application application;
    status = stub_->Apply(Context(kHostile).get(), apply, &application);
    ExpectClean(status, absl::StrCat("Apply ", id));
    EXPECT_FALSE(status.ok());
    v1::CancelApplicationRequest cancel;
    cancel.set_application_id(id);
    status = stub_->CancelApplication(Context(kHostile).get(), cancel, &application);
    ExpectClean(status, absl::StrCat("CancelApplication ", id));
    EXPECT_FALSE(status.ok());
  }

  for (int32_t cap : {0, -1, std::numeric_limits<int32_t>::min()}) {
    v1::CreateCampaignRequest create;
    create.set_name("capped");
    create.set_max_participants(cap);
    v1::Campaign campaign;
    const grpc::Status status = stub_->CreateCampaign(Context(kHostile).get(), create, &campaign);
    ExpectClean(status, absl::StrCat("max_participants ", cap));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Timestamps out of range, and a schedule that closed long ago.
  for (int64_t seconds : {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                          int64_t{-62135596801}, int64_t{1}}) {
    v1::CreateCampaignRequest create;
    create.set_name("scheduled");
    create.mutable_closes_at()->set_seconds(seconds);
    create.mutable_opens_at()->set_nanos(-5);
    v1::Campaign campaign;
    const grpc::Status status = stub_->CreateCampaign(Context(kHostile).get(), create, &campaign);
    ExpectClean(status, absl::StrCat("closes_at ", seconds));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }

  // Unknown enum values, huge and negative page sizes, forged page tokens.
  const std::vector<std::string> tokens = {
      "garbage",
      absl::WebSafeBase64Escape("after:-1"),
      absl::WebSafeBase64Escape("after:0"),
      absl::WebSafeBase64Escape("after:99999999999999999999"),
      absl::WebSafeBase64Escape("after:1; DROP TABLE campaigns"),
      std::string(10000, 'A'),
      std::string("\0A", 2)};
  for (int32_t page_size :
       {-1, 1001, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min()}) {
    v1::ListCampaignsRequest list;
    list.set_page_size(page_size);
    v1::ListCampaignsResponse campaigns;
    const grpc::Status status = stub_->ListCampaigns(Context(kHostile).get(), list, &campaigns);
    ExpectClean(status, absl::StrCat("page_size ", page_size));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  for (const std::string& token : tokens) {
    v1::ListApplicationsRequest list;
    list.set_page_token(token);
    v1::ListApplicationsResponse applications;
    const grpc::Status status =
        stub_->ListApplications(Context(kHostile).get(), list, &applications);
    ExpectClean(status, "page_token " + absl::CEscape(token.substr(0, 40)));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  for (int status_value : {99, -1, std::numeric_limits<int>::max()}) {
    v1::ListApplicationsRequest list;
    list.set_status(static_cast<v1::ApplicationStatus>(status_value));
    v1::ListApplicationsResponse applications;
    const grpc::Status status =
        stub_->ListApplications(Context(kHostile).get(), list, &applications);
    ExpectClean(status, absl::StrCat("status enum ", status_value));
  }
}

// A 4 MiB request: refused by the receive-size limit before it is parsed.
TEST_F(HostileClientTest, FourMebibyteStringIsRefused) {
  for (bool as_name : {true, false}) {
    grpc::Status status;
    if (as_name) {
      v1::CreateCampaignRequest create;
      create.set_name(std::string(4 << 20, 'n'));
      v1::Campaign campaign;
      status = stub_->CreateCampaign(Context(kHostile).get(), create, &campaign);
    } else {
      v1::ApplyRequest apply;
      apply.set_campaign_id(campaign_id_);
      apply.set_user_id(std::string(4 << 20, 'u'));
      v1::Application application;
      status = stub_->Apply(Context(kHostile).get(), apply, &application);
    }
    ExpectClean(status, "4 MiB");
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  }
}

// 1,000 watches at once from one principal: --max-watches-per-caller are
// accepted, every other one RESOURCE_EXHAUSTED, and another principal can
// still watch and call.
TEST_F(HostileClientTest, ThousandWatchesFromOnePrincipal) {
  constexpr int kWatches = 1000;
  grpc::CompletionQueue queue;
  struct Watch {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientAsyncReader<v1::Application>> reader;
    grpc::Status status;
  };
  std::vector<Watch> watches(kWatches);
  v1::WatchApplicationRequest request;
  request.set_application_id(application_id_);
  for (int i = 0; i < kWatches; ++i) {
    Watch& watch = watches[i];
    watch.context = Context(kHostile, std::chrono::seconds(120));
    watch.reader = stub_->PrepareAsyncWatchApplication(watch.context.get(), request, &queue);
    watch.reader->StartCall(reinterpret_cast<void*>(static_cast<intptr_t>(2 * i)));
    watch.reader->Finish(&watch.status, reinterpret_cast<void*>(static_cast<intptr_t>(2 * i + 1)));
  }
  // Every refused watch finishes; the accepted ones stay open.
  int finished = 0, exhausted = 0;
  void* tag = nullptr;
  bool ok = false;
  while (finished < kWatches - kMaxWatchesPerCaller &&
         queue.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::seconds(60)) ==
             grpc::CompletionQueue::GOT_EVENT) {
    const intptr_t value = reinterpret_cast<intptr_t>(tag);
    if (value % 2 == 0) continue;  // a start
    const grpc::Status& status = watches[value / 2].status;
    ExpectClean(status, "watch");
    ++finished;
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
  }
  EXPECT_EQ(finished, kWatches - kMaxWatchesPerCaller);
  EXPECT_EQ(exhausted, kWatches - kMaxWatchesPerCaller);

  // Meanwhile another principal is not limited by the hostile one's watches.
  {
    auto bystander = stack_->NewStub();
    auto context = Context(kBystander, std::chrono::seconds(10));
    auto reader = bystander->WatchApplication(context.get(), request);
    v1::Application application;
    EXPECT_TRUE(reader->Read(&application));
    EXPECT_EQ(application.id(), application_id_);
    context->TryCancel();
    while (reader->Read(&application)) {
    }
    reader->Finish().error_code();
  }
  EXPECT_TRUE(BystanderServedPromptly());

  for (Watch& watch : watches) watch.context->TryCancel();
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
}

// Slowloris: connections that send part of the HTTP/2 preface a byte at a
// time and then stall hold nothing the server needs for others.
TEST_F(HostileClientTest, SlowlorisConnectionsDoNotStarveOthers) {
  const std::string address = stack_->address();
  const size_t colon = address.rfind(':');
  int port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(address.substr(colon + 1), &port));
  constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  std::vector<int> sockets;
  for (int i = 0; i < 50; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(static_cast<uint16_t>(port));
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer), 0);
    sockets.push_back(fd);
    // Part of the preface, one byte per send, then nothing more.
    for (size_t b = 0; b < 1 + static_cast<size_t>(i) % 20; ++b) {
      ASSERT_EQ(send(fd, kPreface + b, 1, MSG_NOSIGNAL), 1);
    }
  }
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(BystanderServedPromptly());
  for (int fd : sockets) close(fd);
}

}  // namespace
}  // namespace campaignq::testing
