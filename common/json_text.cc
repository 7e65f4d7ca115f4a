#include "common/json_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace campaignq {

std::string JsonEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string JsonQuoted(absl::string_view text) {
  return absl::StrCat("\"", JsonEscape(text), "\"");
}

std::string ErrorJson(absl::string_view code, absl::string_view message, int exit_code) {
  return absl::StrCat("{\"code\":", JsonQuoted(code), ",\"message\":", JsonQuoted(message),
                      ",\"exit_code\":", exit_code, "}");
}

}  // namespace campaignq
