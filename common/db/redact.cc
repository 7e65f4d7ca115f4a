#include "common/db/redact.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace campaignq::db {
namespace {

constexpr char kUnparseable[] = "(unparseable connection string)";

bool IsUri(absl::string_view url) {
  return absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
}

bool IsSecretKey(absl::string_view key) {
  return absl::EqualsIgnoreCase(key, "password") || absl::EqualsIgnoreCase(key, "sslpassword");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoded; a malformed escape is kept as it is (the key then matches
// nothing libpq would accept either).
std::string PercentDecoded(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
        HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The query of a URI ("a=1&password=x") with secret values replaced.
std::string RedactedQuery(absl::string_view query, std::vector<std::string>* secrets) {
  std::string out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == absl::string_view::npos) end = query.size();
    absl::string_view param = query.substr(start, end - start);
    if (start > 0) out += '&';
    const size_t eq = param.find('=');
    if (eq != absl::string_view::npos && IsSecretKey(PercentDecoded(param.substr(0, eq)))) {
      secrets->emplace_back(param.substr(eq + 1));
      absl::StrAppend(&out, param.substr(0, eq + 1), kRedacted);
    } else {
      out.append(param.data(), param.size());
    }
    start = end + 1;
  }
  return out;
}

std::string RedactedUri(absl::string_view url, std::vector<std::string>* secrets) {
  const size_t start = url.find("://") + 3;
  // The user info ends at the last '@' before the path; a password with a
  // raw '/' (invalid, but typed) has no '@' before it: then the last '@'
  // before the query.
  const size_t slash = url.find('/', start);
  size_t at = url.substr(0, slash).rfind('@');
  if (at == absl::string_view::npos || at < start) {
    at = url.substr(0, url.find('?', start)).rfind('@');
    if (at != absl::string_view::npos && at < start) at = absl::string_view::npos;
  }
  std::string out(url.substr(0, start));
  size_t rest = start;
  if (at != absl::string_view::npos) {
    const size_t colon = url.find(':', start);
    if (colon != absl::string_view::npos && colon < at) {
      secrets->emplace_back(url.substr(colon + 1, at - colon - 1));
      absl::StrAppend(&out, url.substr(start, colon + 1 - start), kRedacted);
      rest = at;
    }
  }
  const size_t question = url.find('?', at == absl::string_view::npos ? start : at);
  if (question == absl::string_view::npos) {
    absl::StrAppend(&out, url.substr(rest));
    return out;
  }
  absl::StrAppend(&out, url.substr(rest, question + 1 - rest),
                  RedactedQuery(url.substr(question + 1), secrets));
  return out;
}

std::string Quoted(absl::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

bool IsSpace(char c) { return absl::ascii_isspace(static_cast<unsigned char>(c)); }

std::string RedactedKeywords(absl::string_view text, std::vector<std::string>* secrets);

// key=value form, tokenised as libpq's conninfo_parse does. Sets *ok false
// when it cannot tokenise `text`.
std::string RedactedKeywordsOrFail(absl::string_view text, std::vector<std::string>* secrets,
                                   bool* ok) {
  std::string out;
  size_t i = 0;
  *ok = false;
  while (true) {
    const size_t gap = i;
    while (i < text.size() && IsSpace(text[i])) ++i;
    out.append(text.data() + gap, i - gap);
    if (i == text.size()) break;
    const size_t key_start = i;
    while (i < text.size() && !IsSpace(text[i]) && text[i] != '=') ++i;
    const absl::string_view key = text.substr(key_start, i - key_start);
    while (i < text.size() && IsSpace(text[i])) ++i;
    if (i == text.size() || text[i] != '=') return "";
    ++i;
    while (i < text.size() && IsSpace(text[i])) ++i;
    // The value: quoted ('...', \ escapes) or up to whitespace (\ escapes).
    std::string value;
    const size_t value_start = i;
    if (i < text.size() && text[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          value += text[i + 1];
          i += 2;
        } else if (text[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value += text[i++];
        }
      }
      if (!closed) return "";
    } else {
      while (i < text.size() && !IsSpace(text[i])) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i++];
      }
    }
    absl::StrAppend(&out, text.substr(key_start, value_start - key_start));
    if (IsSecretKey(key)) {
      secrets->push_back(value);
      out += kRedacted;
    } else if (key == "dbname" && (IsUri(value) || absl::StrContains(value, '='))) {
      // libpq expands a dbname that is itself a URI or connection string.
      out += Quoted(IsUri(value) ? RedactedUri(value, secrets) : RedactedKeywords(value, secrets));
    } else {
      out.append(text.data() + value_start, i - value_start);
    }
  }
  *ok = true;
  return out;
}

std::string RedactedKeywords(absl::string_view text, std::vector<std::string>* secrets) {
  bool ok = false;
  std::string out = RedactedKeywordsOrFail(text, secrets, &ok);
  return ok ? out : kUnparseable;
}

std::string Redacted(absl::string_view url, std::vector<std::string>* secrets) {
  return IsUri(url) ? RedactedUri(url, secrets) : RedactedKeywords(url, secrets);
}

// Whether the double-quoted `part` of a libpq message is one of its own
// separators ("=", "]", ...), which says what is wrong and nothing about
// the URL.
bool IsSeparator(absl::string_view part) {
  return part == "=" || part == "]" || part == ":" || part == "/" || part == "@" || part == "?" ||
         part == "&";
}

}  // namespace

std::string RedactedUrl(absl::string_view url) {
  std::vector<std::string> secrets;
  return Redacted(url, &secrets);
}

std::string WithoutSecrets(absl::string_view message, absl::string_view url) {
  std::string out(message);
  std::vector<std::string> secrets;
  Redacted(url, &secrets);
  for (const std::string& secret : secrets) {
    for (const std::string& form : {secret, PercentDecoded(secret)}) {
      if (form.size() >= 2) absl::StrReplaceAll({{form, kRedacted}}, &out);
    }
  }
  return out;
}

std::string RedactedParseError(absl::string_view message, absl::string_view url) {
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const size_t open = message.find('"', i);
    const size_t close =
        open == absl::string_view::npos ? absl::string_view::npos : message.find('"', open + 1);
    if (close == absl::string_view::npos) {
      out.append(message.data() + i, message.size() - i);
      break;
    }
    const absl::string_view part = message.substr(open + 1, close - open - 1);
    absl::StrAppend(&out, message.substr(i, open + 1 - i), IsSeparator(part) ? part : "...", "\"");
    i = close + 1;
  }
  // An unpaired quote, another quoting style (a translated message): the
  // secrets themselves wherever they still appear.
  return WithoutSecrets(out, url);
}

}  // namespace campaignq::db
