// The log formatter (common/log.h) in JSON mode, its output captured: every
// call writes exactly one line, and when the component and the message are
// valid UTF-8 that line is a JSON object (parsed by protobuf's JSON
// parser) whose component is the one given.

#include <fuzzer/FuzzedDataProvider.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/util/json_util.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.h"

namespace {

void Require(bool holds) {
  if (!holds) __builtin_trap();
}

bool ValidUtf8(const std::string& text) {
  return google::protobuf::internal::IsStructurallyValidUTF8(text.data(),
                                                             static_cast<int>(text.size()));
}

// What LogLine writes to stderr during `write`.
template <typename Write>
std::string Captured(Write write) {
  char* buffer = nullptr;
  size_t length = 0;
  FILE* memory = open_memstream(&buffer, &length);
  Require(memory != nullptr);
  FILE* real = stderr;
  stderr = memory;
  write();
  stderr = real;
  std::fclose(memory);
  std::string text(buffer, length);
  std::free(buffer);
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Read once, at the first line (common/log.cc).
  setenv("CAMPAIGNQ_LOG_FORMAT", "json", 1);
  campaignq::SetMinLogLevel(campaignq::LogLevel::kDebug);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  const auto level = static_cast<campaignq::LogLevel>(input.ConsumeIntegralInRange<int>(0, 3));
  const std::string component = input.ConsumeRandomLengthString(64);
  const std::string message = input.ConsumeRemainingBytesAsString();
  const std::string line = Captured([&] { campaignq::LogLine(level, component, message); });
  Require(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1);
  if (ValidUtf8(component) && ValidUtf8(message)) {
    google::protobuf::Struct object;
    Require(google::protobuf::util::JsonStringToMessage(line, &object).ok());
    Require(object.fields().at("component").string_value() == component);
  }
  return 0;
}
