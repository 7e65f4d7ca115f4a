#include "support/temp_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"

namespace campaignq::testing {
namespace {

std::string Sanitize(const std::string& text) {
  std::string out;
  for (char c : text) {
    out.push_back((std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_');
  }
  return out.empty() ? "test" : out;
}

}  // namespace

std::string MakeTestTempDir(const std::string& hint) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string root = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  root += "/campaignq-tests";
  ::mkdir(root.c_str(), 0777);  // may exist already
  std::string name = hint;
  if (name.empty()) {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    name =
        info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "campaignq";
  }
  std::string pattern = root + "/" + Sanitize(name) + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    std::fprintf(stderr, "campaignq tests: mkdtemp %s: %s\n", pattern.c_str(),
                 std::strerror(errno));
    std::abort();
  }
  return buffer.data();
}

void RemoveTree(const std::string& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

ScopedTestDir::ScopedTestDir(const std::string& hint) : path_(MakeTestTempDir(hint)) {}

ScopedTestDir::~ScopedTestDir() {
  if (::testing::Test::HasFailure()) {
    std::fprintf(stderr, "campaignq tests: keeping %s for inspection\n", path_.c_str());
    return;
  }
  RemoveTree(path_);
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace campaignq::testing
