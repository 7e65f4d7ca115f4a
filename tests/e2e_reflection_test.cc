// e2e tier: everything the server lists through reflection can be described
// and called by a client that has nothing but reflection (as grpcurl), and
// every grpcurl command that scripts/run-service and docs/api.md print works
// as printed, in the order printed, on a fresh deployment; the README's tour
// quotes only commands of docs/api.md.

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "campaignq/v1/campaignq.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"
#include "gtest/gtest.h"
#include "server/security/token_file.h"
#include "support/reflection_client.h"
#include "support/stack.h"

namespace campaignq::testing {
namespace {

std::string SourceFile(const std::string& relative) {
  std::ifstream file(std::string(CAMPAIGNQ_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct GrpcurlCommand {
  std::string text;      // as printed
  std::string data;      // -d '...', "" when none
  std::string verb;      // "list", "describe" or a Service/Method
  std::string argument;  // what describe describes
  // The answer the text says to expect ("... → FAILED_PRECONDITION"): a
  // code name, or "" for OK.
  std::string expected_code;
};

// Every `grpcurl ... ADDRESS (list | describe X | Service/Method)` in `text`.
std::vector<GrpcurlCommand> GrpcurlCommands(const std::string& text) {
  static const std::regex kCommand(
      R"re(grpcurl((?: -[a-z]+)*)(?: -d '([^']*)')?(?: -[a-z]+)* (\S+) (list|describe ([\w.]+)|[\w.]+/\w+)`?(?: → ([A-Z_]+))?)re");
  std::vector<GrpcurlCommand> commands;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kCommand);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& match = *it;
    GrpcurlCommand command;
    command.text = match.str(0);
    command.data = match.str(2);
    const std::string verb = match.str(4);
    command.verb = verb.rfind("describe", 0) == 0 ? "describe" : verb;
    command.argument = match.str(5);
    command.expected_code = match.str(6);
    commands.push_back(command);
  }
  return commands;
}

// The command as a reader types it: without a code span's backticks.
std::string Typed(const GrpcurlCommand& command) {
  std::string text = command.text;
  text.erase(std::remove(text.begin(), text.end(), '`'), text.end());
  return text;
}

class ReflectionTest : public ::testing::Test {
 protected:
  void StartDeployment(const std::string& hint) {
    stack_ = std::make_unique<Stack>(hint);
    stack_->StartServer();
    stack_->StartWorker();
    client_ = std::make_unique<ReflectionClient>(
        grpc::CreateChannel(stack_->address(), grpc::InsecureChannelCredentials()));
  }

  // Runs one printed command the way grpcurl would.
  void Run(const GrpcurlCommand& command) {
    SCOPED_TRACE(command.text);
    if (command.verb == "list") {
      auto services = client_->ListServices();
      ASSERT_TRUE(services.ok()) << services.status();
      EXPECT_FALSE(services->empty());
    } else if (command.verb == "describe") {
      auto service = client_->DescribeService(command.argument);
      if (!service.ok()) {
        auto message = client_->DescribeMessage(command.argument);
        EXPECT_TRUE(message.ok()) << service.status() << " / " << message.status();
      }
    } else {
      auto result = client_->Call(command.verb, command.data.empty() ? "{}" : command.data);
      ASSERT_TRUE(result.ok()) << result.status();
      if (command.expected_code.empty()) {
        EXPECT_TRUE(result->status.ok())
            << result->status.error_code() << ": " << result->status.error_message();
        EXPECT_FALSE(result->responses_json.empty());
      } else {
        EXPECT_EQ(
            absl::StatusCodeToString(static_cast<absl::StatusCode>(result->status.error_code())),
            command.expected_code)
            << result->status.error_message();
      }
    }
  }

  std::unique_ptr<Stack> stack_;
  std::unique_ptr<ReflectionClient> client_;
};

TEST_F(ReflectionTest, EveryListedServiceMethodAndMessageResolvesThroughReflectionAlone) {
  StartDeployment("reflection-all");
  auto services = client_->ListServices();
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* expected : {"campaignq.v1.CampaignQueue", "grpc.health.v1.Health",
                               "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_NE(std::find(services->begin(), services->end(), expected), services->end())
        << expected << " not in: " << absl::StrJoin(*services, ", ");
  }
  for (const std::string& name : *services) {
    auto service = client_->DescribeService(name);
    ASSERT_TRUE(service.ok()) << name << ": " << service.status();
    EXPECT_GT((*service)->method_count(), 0) << name;
    for (int i = 0; i < (*service)->method_count(); ++i) {
      const auto* method = (*service)->method(i);
      for (const auto* type : {method->input_type(), method->output_type()}) {
        auto message = client_->DescribeMessage(type->full_name());
        EXPECT_TRUE(message.ok()) << method->full_name() << ": " << message.status();
      }
    }
  }
  // And the health service answers a reflection-only call.
  auto health = client_->Call("grpc.health.v1.Health/Check", "{}");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_TRUE(health->status.ok()) << health->status.error_message();
}

TEST_F(ReflectionTest, TheCommandsRunServicePrintsWorkAsPrinted) {
  const auto commands = GrpcurlCommands(SourceFile("scripts/run-service"));
  ASSERT_GE(commands.size(), 5u) << "found no grpcurl commands in scripts/run-service";
  StartDeployment("reflection-run-service");
  for (const GrpcurlCommand& command : commands) Run(command);
}

TEST_F(ReflectionTest, TheCommandsTheApiDocPrintsWorkAsPrinted) {
  const auto commands = GrpcurlCommands(SourceFile("docs/api.md"));
  ASSERT_GE(commands.size(), 20u) << "docs/api.md lost grpcurl commands of its RPC table";
  StartDeployment("reflection-api-doc");
  for (const GrpcurlCommand& command : commands) Run(command);
}

// The README's tour quotes rows of docs/api.md's table instead of keeping a
// sequence of its own, so the run above covers what a new reader types.
TEST(ReadmeTourTest, EveryGrpcurlCommandOfTheReadmeIsOneOfTheApiDoc) {
  std::vector<std::string> api;
  for (const GrpcurlCommand& command : GrpcurlCommands(SourceFile("docs/api.md"))) {
    api.push_back(Typed(command));
  }
  const auto readme = GrpcurlCommands(SourceFile("README.md"));
  ASSERT_GE(readme.size(), 3u) << "README.md's tour lost its grpcurl commands";
  for (const GrpcurlCommand& command : readme) {
    EXPECT_NE(std::find(api.begin(), api.end(), Typed(command)), api.end())
        << "README.md prints `" << Typed(command) << "`, which docs/api.md's table does not";
  }
}

// --- streams that stay open ----------------------------------------------------

constexpr char kReflectionMethod[] =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
constexpr char kHealthWatchMethod[] = "/grpc.health.v1.Health/Watch";

// Streams opened through one completion queue and left open. A stream
// given a request writes it once started and then reads one reply (a
// health Watch answers its request with the current status at once), so
// that the server is known to be serving it. Tags: 4i + kStart, kEnd
// (Finish, requested at once), kWrite, kRead for stream i.
class OpenStreams {
 public:
  explicit OpenStreams(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {}
  ~OpenStreams() {
    for (auto& stream : streams_) stream->context.TryCancel();
    queue_.Shutdown();
    void* tag = nullptr;
    bool ok = false;
    while (queue_.Next(&tag, &ok)) {
    }
  }

  // Opens a stream of `method` as `token` ("": none), writing `request`
  // (nullptr: nothing) once.
  void Open(const std::string& method, const std::string& token,
            const std::string* request = nullptr) {
    const intptr_t index = static_cast<intptr_t>(streams_.size());
    auto stream = std::make_unique<Stream>();
    if (!token.empty()) stream->context.AddMetadata("authorization", "Bearer " + token);
    stream->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
    if (request != nullptr) {
      grpc::Slice slice(*request);
      stream->request = grpc::ByteBuffer(&slice, 1);
      stream->writes = true;
    }
    stream->call = stub_.PrepareCall(&stream->context, method, &queue_);
    stream->call->StartCall(Tag(index, kStart));
    stream->call->Finish(&stream->status, Tag(index, kEnd));
    streams_.push_back(std::move(stream));
  }

  // Until `count` streams have ended (-> true) or the deadline passes.
  bool WaitForEnds(size_t count, std::chrono::system_clock::time_point deadline) {
    return Pump(deadline, [&] { return ended_.size() >= count; });
  }
  // Until `count` streams have had their reply (-> true) or the deadline
  // passes.
  bool WaitForReplies(size_t count, std::chrono::system_clock::time_point deadline) {
    return Pump(deadline, [&] { return replies_ >= count; });
  }

  // The ended streams' indexes, in the order they ended.
  const std::vector<size_t>& ended() const { return ended_; }
  const grpc::Status& status(size_t index) const { return streams_[index]->status; }

 private:
  enum Kind : intptr_t { kStart = 0, kEnd = 1, kWrite = 2, kRead = 3 };
  static void* Tag(intptr_t index, Kind kind) { return reinterpret_cast<void*>(4 * index + kind); }

  struct Stream {
    grpc::ClientContext context;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call;
    bool writes = false;
    grpc::ByteBuffer request;
    grpc::ByteBuffer reply;
    grpc::Status status;
  };

  template <typename Done>
  bool Pump(std::chrono::system_clock::time_point deadline, Done done) {
    void* tag = nullptr;
    bool ok = false;
    while (!done() && queue_.AsyncNext(&tag, &ok, deadline) == grpc::CompletionQueue::GOT_EVENT) {
      const intptr_t value = reinterpret_cast<intptr_t>(tag);
      const intptr_t index = value / 4;
      Stream* stream = streams_[static_cast<size_t>(index)].get();
      switch (static_cast<Kind>(value % 4)) {
        case kStart:
          if (ok && stream->writes) stream->call->Write(stream->request, Tag(index, kWrite));
          break;
        case kEnd:
          ended_.push_back(static_cast<size_t>(index));
          break;
        case kWrite:
          if (ok) stream->call->Read(&stream->reply, Tag(index, kRead));
          break;
        case kRead:
          if (ok) ++replies_;
          break;
      }
    }
    return done();
  }

  grpc::GenericStub stub_;
  grpc::CompletionQueue queue_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<size_t> ended_;
  size_t replies_ = 0;
};

constexpr char kReaderTokens[][16] = {"reader-token-0", "reader-token-1", "reader-token-2",
                                      "reader-token-3"};
constexpr char kBystanderToken[] = "bystander-token";

// A stack with the four readers and a bystander as principals.
std::unique_ptr<Stack> StartAuthenticated(const std::string& hint,
                                          std::vector<std::string> extra_args) {
  auto stack = std::make_unique<Stack>(hint);
  std::string tokens;
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&tokens, server::security::Sha256Hex(kReaderTokens[i]), " observer reader-", i,
                    "\n");
  }
  absl::StrAppend(&tokens, server::security::Sha256Hex(kBystanderToken), " admin bystander\n");
  const std::string path = stack->dir() + "/tokens";
  std::ofstream(path) << tokens;
  extra_args.push_back("--auth-tokens-file=" + path);
  stack->StartServer(extra_args);
  return stack;
}

// GetCampaign of the bystander, within `timeout`.
grpc::Status BystanderGetCampaign(Stack& stack, int64_t campaign_id,
                                  std::chrono::seconds timeout = std::chrono::seconds(5)) {
  auto stub = stack.NewStub();
  grpc::ClientContext context;
  context.AddMetadata("authorization", absl::StrCat("Bearer ", kBystanderToken));
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::GetCampaignRequest request;
  request.set_campaign_id(campaign_id);
  v1::Campaign campaign;
  return stub->GetCampaign(&context, request, &campaign);
}

// gRPC's own reflection service is synchronous: each open stream held a
// handler thread until the client closed it, so idle streams (anyone's:
// an unauthenticated one was only answered UNAUTHENTICATED at its end)
// took every --max-threads thread. Reflection now holds no thread, is
// bounded per caller, and ends unauthenticated streams at once; the
// health Watch (gRPC's callback service) holds none either.
TEST(ReflectionStreamsTest, IdleStreamsHoldNoHandlerThreadAndAreBoundedPerCaller) {
  constexpr int kMaxThreads = 8;
  constexpr int kPerCaller = 4;  // --max-reflection-streams-per-caller's default
  auto stack = StartAuthenticated("reflection-idle", {absl::StrCat("--max-threads=", kMaxThreads)});
  v1::Campaign campaign;
  {
    auto stub = stack->NewStub();
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kBystanderToken));
    v1::CreateCampaignRequest create;
    create.set_name("reflection-idle");
    create.set_max_participants(1);
    ASSERT_TRUE(stub->CreateCampaign(&context, create, &campaign).ok());
  }

  auto channel = grpc::CreateChannel(stack->address(), grpc::InsecureChannelCredentials());
  OpenStreams streams(channel);
  // Every reader at its limit: 16 idle streams, twice --max-threads.
  for (const char* token : kReaderTokens) {
    for (int i = 0; i < kPerCaller; ++i) streams.Open(kReflectionMethod, token);
  }
  // As many idle health watches (no token needed), HealthCheckRequest{}.
  const std::string empty_request;
  for (int i = 0; i < 4 * kPerCaller; ++i) streams.Open(kHealthWatchMethod, "", &empty_request);
  EXPECT_TRUE(streams.WaitForReplies(4 * kPerCaller,
                                     std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << "the health watches were not all answered";
  // One more per reader: refused at once.
  for (const char* token : kReaderTokens) streams.Open(kReflectionMethod, token);
  const size_t refused = std::size(kReaderTokens);
  EXPECT_TRUE(
      streams.WaitForEnds(refused, std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << streams.ended().size() << " of " << refused << " streams over the limit ended";
  for (size_t index : streams.ended()) {
    const grpc::Status& status = streams.status(index);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "stream " << index << ": " << status.error_message();
    EXPECT_NE(status.error_message().find("reflection streams"), std::string::npos)
        << status.error_message();
  }

  // The bystander's calls all find a thread, promptly.
  for (int i = 0; i < 5; ++i) {
    const grpc::Status status = BystanderGetCampaign(*stack, campaign.id());
    EXPECT_TRUE(status.ok()) << "call " << i << ": " << status.error_code() << " "
                             << status.error_message();
  }
  EXPECT_TRUE(stack->Serving());
}

// grpc.health.v1 is gRPC's own service, on its callback API in gRPC 1.51:
// a Watch holds no handler thread while it waits for the next change, so
// however many probes watch (they need no token, so nothing bounds them
// per caller), every other call still finds a thread. This guards that
// choice: a health service of our own on the sync API would fail here.
TEST(ReflectionStreamsTest, IdleHealthWatchesHoldNoHandlerThread) {
  constexpr int kMaxThreads = 8;
  constexpr int kWatches = 4 * kMaxThreads;
  auto stack =
      StartAuthenticated("health-watch-idle", {absl::StrCat("--max-threads=", kMaxThreads)});
  v1::Campaign campaign;
  {
    auto stub = stack->NewStub();
    grpc::ClientContext context;
    context.AddMetadata("authorization", absl::StrCat("Bearer ", kBystanderToken));
    v1::CreateCampaignRequest create;
    create.set_name("health-watch-idle");
    create.set_max_participants(1);
    ASSERT_TRUE(stub->CreateCampaign(&context, create, &campaign).ok());
  }
  auto channel = grpc::CreateChannel(stack->address(), grpc::InsecureChannelCredentials());
  OpenStreams streams(channel);
  const std::string empty_request;  // HealthCheckRequest{}: the whole server
  for (int i = 0; i < kWatches; ++i) streams.Open(kHealthWatchMethod, "", &empty_request);
  ASSERT_TRUE(
      streams.WaitForReplies(kWatches, std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << "the health watches were not all answered";
  EXPECT_TRUE(streams.ended().empty());
  for (int i = 0; i < 5; ++i) {
    const grpc::Status status = BystanderGetCampaign(*stack, campaign.id());
    EXPECT_TRUE(status.ok()) << "call " << i << ": " << status.error_code() << " "
                             << status.error_message();
  }
}

// Without a valid token a reflection stream ends UNAUTHENTICATED as soon
// as it opens, without waiting for the client to send or close anything;
// with one it is answered.
TEST(ReflectionStreamsTest, AnUnauthenticatedStreamEndsAtOnce) {
  auto stack = StartAuthenticated("reflection-anonymous", {});
  auto channel = grpc::CreateChannel(stack->address(), grpc::InsecureChannelCredentials());
  OpenStreams streams(channel);
  streams.Open(kReflectionMethod, "");
  streams.Open(kReflectionMethod, "not-a-token");
  ASSERT_TRUE(streams.WaitForEnds(2, std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << "an unauthenticated reflection stream stayed open";
  for (size_t index : {0, 1}) {
    EXPECT_EQ(streams.status(index).error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << streams.status(index).error_message();
  }
  grpc::reflection::v1alpha::ServerReflectionRequest list;
  list.set_list_services("*");
  const std::string request = list.SerializeAsString();
  streams.Open(kReflectionMethod, kReaderTokens[0], &request);
  EXPECT_TRUE(
      streams.WaitForReplies(1, std::chrono::system_clock::now() + std::chrono::seconds(10)))
      << "a reader's reflection stream was not answered";
  EXPECT_EQ(streams.ended().size(), 2u);
}

// A stream that sends no request for --reflection-idle-timeout is ended by
// the server (UNAVAILABLE: open a new one), so that idle streams cannot
// keep the per-caller and total budgets taken.
TEST(ReflectionStreamsTest, AnIdleStreamIsEndedAfterTheIdleTimeout) {
  auto stack = StartAuthenticated("reflection-idle-timeout", {"--reflection-idle-timeout=1s"});
  auto channel = grpc::CreateChannel(stack->address(), grpc::InsecureChannelCredentials());
  OpenStreams streams(channel);
  const auto opened = std::chrono::steady_clock::now();
  streams.Open(kReflectionMethod, kReaderTokens[0]);
  ASSERT_TRUE(streams.WaitForEnds(1, std::chrono::system_clock::now() + std::chrono::seconds(20)))
      << "the idle stream stayed open";
  EXPECT_GE(std::chrono::steady_clock::now() - opened, std::chrono::seconds(1));
  EXPECT_EQ(streams.status(0).error_code(), grpc::StatusCode::UNAVAILABLE)
      << streams.status(0).error_message();
}

}  // namespace
}  // namespace campaignq::testing
