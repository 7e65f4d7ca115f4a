// Database URL redaction (common/db/redact.h). Arbitrary text through all
// three functions must not crash; and for a well-formed URL or key=value
// string with a password built from the input, the password (raw or
// percent-encoded) never appears in what they return.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/db/redact.h"

namespace {

namespace db = campaignq::db;

void Require(bool holds) {
  if (!holds) __builtin_trap();
}

// Every byte but [A-Za-z0-9] as %XX: always a valid URI component.
std::string PercentEncoded(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c)) {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", c);
    }
  }
  return out;
}

// A key=value value in single quotes, with ' and \ escaped as libpq reads them.
std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

// Letters and digits only, never empty: a user, host or database name.
std::string Name(FuzzedDataProvider& input, const char* fallback) {
  std::string name;
  for (char c : input.ConsumeRandomLengthString(16)) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) name += c;
  }
  return name.empty() ? fallback : name;
}

// Whether `password` could show up in the output without being leaked: it
// is part of what redaction keeps, or of the marker that replaces it.
bool Ambiguous(const std::string& password, const std::string& kept) {
  return password.size() < 3 || absl::StrContains(password, '*') ||
         absl::StrContains(kept, password) || absl::StrContains(kept, PercentEncoded(password));
}

// The messages WithoutSecrets is promised to clean (redact.h): the secret
// raw or percent-decoded. A URI's raw form is percent-encoded, so a message
// may echo the URI itself; a key=value string's escaped form ('it\'s') is
// neither, so its message carries the password as libpq decoded it.
void RequireHidden(const std::string& password, const std::string& url, const std::string& kept,
                   bool uri) {
  if (Ambiguous(password, kept)) return;
  const std::string encoded = PercentEncoded(password);
  const std::string message =
      uri ? absl::StrCat("could not connect to ", url, ": password ", password, " rejected (",
                         encoded, ")")
          : absl::StrCat("could not connect: password ", password, " rejected");
  for (const std::string& out :
       {db::RedactedUrl(url), db::WithoutSecrets(message, url),
        db::RedactedParseError(absl::StrCat("invalid connection option \"", url, "\""), url)}) {
    Require(!absl::StrContains(out, password));
    Require(!absl::StrContains(out, encoded));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  switch (input.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: {  // Anything at all.
      const std::string url = input.ConsumeRandomLengthString(1024);
      const std::string message = input.ConsumeRemainingBytesAsString();
      (void)db::RedactedUrl(url);
      (void)db::WithoutSecrets(message, url);
      (void)db::RedactedParseError(message, url);
      break;
    }
    case 1: {  // URI with the password in the user info.
      const std::string user = Name(input, "u"), host = Name(input, "h"), name = Name(input, "d");
      const std::string password = input.ConsumeRemainingBytesAsString();
      const std::string tail = absl::StrCat("@", host, ":5432,", host, "2/", name);
      RequireHidden(password,
                    absl::StrCat("postgresql://", user, ":", PercentEncoded(password), tail),
                    absl::StrCat("postgresql://", user, ":", db::kRedacted, tail), true);
      break;
    }
    case 2: {  // URI with the password as a query parameter.
      const std::string user = Name(input, "u"), host = Name(input, "h"), name = Name(input, "d");
      const std::string password = input.ConsumeRemainingBytesAsString();
      const std::string head = absl::StrCat("postgres://", user, "@", host, "/", name);
      RequireHidden(
          password,
          absl::StrCat(head, "?sslmode=require&password=", PercentEncoded(password),
                       "&application_name=fuzz"),
          absl::StrCat(head, "?sslmode=require&password=", db::kRedacted, "&application_name=fuzz"),
          true);
      break;
    }
    default: {  // key=value with a quoted password.
      const std::string user = Name(input, "u"), host = Name(input, "h"), name = Name(input, "d");
      const std::string password = input.ConsumeRemainingBytesAsString();
      const std::string head = absl::StrCat("host=", host, " user=", user, " password=");
      const std::string tail = absl::StrCat(" dbname=", name, " sslmode=disable");
      RequireHidden(password, absl::StrCat(head, Quoted(password), tail),
                    absl::StrCat(head, db::kRedacted, tail, Quoted("")), false);
      break;
    }
  }
  return 0;
}
