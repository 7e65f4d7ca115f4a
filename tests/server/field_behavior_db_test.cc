// campaignq.proto's google.api.field_behavior annotations agree with what the
// server does (docs/api.md, Package options and annotations), RPC by RPC from
// the service descriptor, against the server as the binary runs it
// (ServerStack) on the test PostgreSQL:
//   * every request field is REQUIRED or OPTIONAL, and every field of
//     Campaign and Application says how it behaves;
//   * a request with only its REQUIRED fields set is not INVALID_ARGUMENT
//     (so no OPTIONAL field is in fact required);
//   * the same request with one REQUIRED field cleared is INVALID_ARGUMENT,
//     and its BadRequest names that field.

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "google/api/field_behavior.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "server/server_stack.h"
#include "support/test_postgres.h"

namespace campaignq::server {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

std::vector<google::api::FieldBehavior> Behaviors(const FieldDescriptor* field) {
  std::vector<google::api::FieldBehavior> behaviors;
  const auto& options = field->options();
  for (int i = 0; i < options.ExtensionSize(google::api::field_behavior); ++i) {
    behaviors.push_back(options.GetExtension(google::api::field_behavior, i));
  }
  return behaviors;
}

bool Has(const FieldDescriptor* field, google::api::FieldBehavior behavior) {
  for (google::api::FieldBehavior b : Behaviors(field)) {
    if (b == behavior) return true;
  }
  return false;
}

std::vector<const MethodDescriptor*> Methods() {
  std::vector<const MethodDescriptor*> methods;
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          "campaignq.v1.CampaignQueue");
  for (int i = 0; i < service->method_count(); ++i) methods.push_back(service->method(i));
  return methods;
}

TEST(FieldBehavior, EveryRequestAndResourceFieldIsAnnotated) {
  for (const MethodDescriptor* method : Methods()) {
    const google::protobuf::Descriptor* request = method->input_type();
    for (int i = 0; i < request->field_count(); ++i) {
      const FieldDescriptor* field = request->field(i);
      EXPECT_NE(Has(field, google::api::REQUIRED), Has(field, google::api::OPTIONAL))
          << field->full_name() << ": REQUIRED or OPTIONAL, exactly one";
    }
  }
  for (const google::protobuf::Descriptor* resource :
       {v1::Campaign::descriptor(), v1::Application::descriptor()}) {
    for (int i = 0; i < resource->field_count(); ++i) {
      const FieldDescriptor* field = resource->field(i);
      EXPECT_NE(Has(field, google::api::OUTPUT_ONLY), Has(field, google::api::IMMUTABLE))
          << field->full_name() << ": OUTPUT_ONLY or IMMUTABLE, exactly one";
    }
  }
}

// A value the server accepts for a REQUIRED field that names nothing: ids
// that do not exist (NOT_FOUND, not INVALID_ARGUMENT), printable strings.
void SetValid(Message* message, const FieldDescriptor* field) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && field->is_repeated()) {
    // A list of requests (ApplyBatch): one, with its own REQUIRED fields set.
    Message* element = reflection->AddMessage(message, field);
    for (int i = 0; i < element->GetDescriptor()->field_count(); ++i) {
      const FieldDescriptor* inner = element->GetDescriptor()->field(i);
      if (Has(inner, google::api::REQUIRED)) SetValid(element, inner);
    }
    return;
  }
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
      reflection->SetInt64(message, field, 987654321);
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      reflection->SetInt32(message, field, 1);
      break;
    case FieldDescriptor::CPPTYPE_STRING:
      reflection->SetString(message, field, "field-behavior-test");
      break;
    default:
      ADD_FAILURE() << field->full_name() << ": no valid value known for its type";
  }
}

class FieldBehaviorDbTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerOptions options;
    options.process.database_url = testing::FreshDatabaseUrl("field_behavior");
    options.listen = "127.0.0.1:0";
    options.pool_size = 2;
    options.shutdown_grace = absl::Seconds(5);
    stack_ = new ServerStack(options);
    absl::StatusOr<int> port = stack_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    channel_ = new std::shared_ptr<grpc::Channel>(
        stack_->grpc_server()->InProcessChannel(grpc::ChannelArguments()));
  }
  static void TearDownTestSuite() {
    delete channel_;
    delete stack_;
  }

  // Calls `method` with `request` as a unary call (a server-streaming one
  // ends at once here: NOT_FOUND or INVALID_ARGUMENT, no message).
  static grpc::Status Call(const MethodDescriptor* method, const Message& request) {
    grpc::TemplatedGenericStub<Message, Message> stub(*channel_);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::unique_ptr<Message> response(google::protobuf::MessageFactory::generated_factory()
                                          ->GetPrototype(method->output_type())
                                          ->New());
    // On a completion queue of this thread, not the callback API: the reply
    // is parsed into `response` by this thread's Next(), so that TSan (which
    // cannot see through Debian's uninstrumented libgrpc) sees no handover.
    grpc::CompletionQueue queue;
    auto call = stub.PrepareUnaryCall(
        &context, "/" + method->service()->full_name() + "/" + method->name(), request, &queue);
    grpc::Status status;
    call->StartCall();
    call->Finish(response.get(), &status, &queue);
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(queue.Next(&tag, &ok) && ok) << method->name() << ": the call did not complete";
    queue.Shutdown();
    while (queue.Next(&tag, &ok)) {
    }
    return status;
  }

  static std::vector<std::string> ViolatedFields(const grpc::Status& status) {
    std::vector<std::string> fields;
    google::rpc::Status details;
    if (!details.ParseFromString(status.error_details())) return fields;
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad_request;
      if (!any.UnpackTo(&bad_request)) continue;
      for (const auto& violation : bad_request.field_violations()) {
        fields.push_back(violation.field());
      }
    }
    return fields;
  }

  static ServerStack* stack_;
  static std::shared_ptr<grpc::Channel>* channel_;
};

ServerStack* FieldBehaviorDbTest::stack_ = nullptr;
std::shared_ptr<grpc::Channel>* FieldBehaviorDbTest::channel_ = nullptr;

TEST_F(FieldBehaviorDbTest, RequiredFieldsAreTheOnesTheServerRequires) {
  ASSERT_NE(channel_, nullptr);
  int required_checked = 0;
  for (const MethodDescriptor* method : Methods()) {
    const google::protobuf::Message* prototype =
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(method->input_type());
    std::unique_ptr<Message> request(prototype->New());
    std::vector<const FieldDescriptor*> required;
    for (int i = 0; i < method->input_type()->field_count(); ++i) {
      const FieldDescriptor* field = method->input_type()->field(i);
      if (!Has(field, google::api::REQUIRED)) continue;
      required.push_back(field);
      SetValid(request.get(), field);
    }
    const grpc::Status valid = Call(method, *request);
    EXPECT_NE(valid.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << method->name() << " with only its REQUIRED fields set: " << valid.error_message();

    for (const FieldDescriptor* field : required) {
      std::unique_ptr<Message> without(request->New());
      without->CopyFrom(*request);
      without->GetReflection()->ClearField(without.get(), field);
      const grpc::Status status = Call(method, *without);
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << method->name() << " without " << field->name() << ": " << status.error_message();
      const std::vector<std::string> violated = ViolatedFields(status);
      EXPECT_EQ(violated, std::vector<std::string>{field->name()})
          << method->name() << " without " << field->name();
      ++required_checked;
    }
  }
  // Apply alone has two; every RPC but the lists and stats has one.
  EXPECT_GE(required_checked, 12);
}

}  // namespace
}  // namespace campaignq::server
