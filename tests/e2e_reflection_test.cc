// e2e tier: everything the server lists through reflection can be described
// and called by a client that has nothing but reflection (as grpcurl), and
// every grpcurl command that scripts/run-service and the README print works
// as printed, in the order printed, on a fresh deployment.

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
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

TEST_F(ReflectionTest, TheCommandsTheReadmePrintsWorkAsPrinted) {
  const auto commands = GrpcurlCommands(SourceFile("README.md"));
  ASSERT_GE(commands.size(), 20u) << "README.md lost grpcurl commands of its RPC table";
  StartDeployment("reflection-readme");
  for (const GrpcurlCommand& command : commands) Run(command);
}

}  // namespace
}  // namespace campaignq::testing
