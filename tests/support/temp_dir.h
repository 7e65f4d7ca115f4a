#pragma once
// Per-test scratch directories (process logs, sockets).

#include <string>

namespace campaignq::testing {

// Creates a new directory $TMPDIR/campaignq-tests/<suite>.<test>-XXXXXX for
// the running GoogleTest test (or "<hint>-XXXXXX" outside of one). Aborts if
// it cannot.
std::string MakeTestTempDir(const std::string& hint = "");

// A MakeTestTempDir() removed on destruction unless the test failed (then
// it is kept, and its path printed, so its logs can be read).
class ScopedTestDir {
 public:
  explicit ScopedTestDir(const std::string& hint = "");
  ~ScopedTestDir();
  ScopedTestDir(const ScopedTestDir&) = delete;
  ScopedTestDir& operator=(const ScopedTestDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name.
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// rm -rf `path` (best effort).
void RemoveTree(const std::string& path);

// The whole text of the file at `path`; "" when it cannot be read.
std::string ReadTextFile(const std::string& path);

}  // namespace campaignq::testing
