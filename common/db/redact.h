#pragma once
// Database URLs made safe to print: every log line, error message and
// banner that shows where a process connects shows RedactedUrl(url), never
// the URL itself (it may hold a password).

#include <string>

#include "absl/strings/string_view.h"

namespace campaignq::db {

// What replaces a secret.
inline constexpr char kRedacted[] = "***";

// `url` with every secret replaced by kRedacted, in either libpq form:
//   URI       postgresql://user:SECRET@h1:5432,h2/db?password=SECRET&sslmode=require
//             (the password of the user info, however percent-encoded, and
//             the value of every query parameter whose decoded key is
//             `password` or `sslpassword`);
//   key=value host=h user=u password=SECRET   (quoted values and \-escapes
//             as libpq reads them).
// Everything else (user, hosts, ports, database, other settings) is kept,
// so that the line still says where. Needs no libpq and never fails: a
// key=value string it cannot tokenise is replaced whole by
// "(unparseable connection string)", and a URI whose user info or query it
// cannot delimit loses everything from the first ':' or '?' that could
// start a secret.
std::string RedactedUrl(absl::string_view url);

// `message` (about connecting to `url`: a libpq or libpqxx error) with
// every secret RedactedUrl would hide in `url`, raw or percent-decoded,
// replaced by kRedacted wherever it appears. Host names and user names stay:
// the log line must say which server refused.
std::string WithoutSecrets(absl::string_view message, absl::string_view url);

// libpq's message about a `url` it could not parse (PQconninfoParse),
// which echoes the offending token or the whole URI ('invalid
// percent-encoded token: "%zz"'): every double-quoted part that is more
// than a separator replaced by "...", then WithoutSecrets.
std::string RedactedParseError(absl::string_view message, absl::string_view url);

}  // namespace campaignq::db
