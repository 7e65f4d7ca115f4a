#include "client/usage.h"

#include <algorithm>

#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/flags.h"

namespace campaignq::client {
namespace {

// `text` as lines of at most 80 columns, each after `indent`.
std::string Wrapped(absl::string_view text, absl::string_view indent) {
  std::string out;
  std::string line;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && indent.size() + line.size() + 1 + word.size() > 80) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", word);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

// "page_size" and "page-size" alike -> "page-size".
std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

// "--page-size=N", or "--tls" for a switch.
std::string Spelling(const FlagUse& f) {
  return absl::StrCat("--", f.name, *f.value ? "=" : "", f.value);
}

// The flags that RunCli reads for every command: where the service and its
// database are, how to reach them, and how to print. A deployment sets them
// once (the environment, a wrapper script) for every command, so a command
// that has no use for one (lab for --server, list for --database-url) takes
// it all the same; storm and lab list --database-url again for their help.
const FlagUse kGlobalFlags[] = {
    {"server", "HOST:PORT", "the campaignq server"},
    {"token", "T",
     "bearer token sent with every call; prefer the environment variable (a flag shows in the "
     "process list)"},
    {"tls", "", "connect with TLS (system roots); implied by --ca-cert, --cert and --key"},
    {"ca-cert", "FILE", "PEM CA that signed the server's certificate"},
    {"cert", "FILE", "PEM client certificate for mutual TLS (with --key)"},
    {"key", "FILE", "PEM private key of --cert"},
    {"json", "",
     "print each result message as one line of JSON, the protobuf JSON mapping that grpcurl "
     "prints (lowerCamelCase names, fields at their zero value left out, int64 as strings); "
     "errors as one JSON object on stderr: "
     "{\"code\":\"NOT_FOUND\",\"grpc_code\":5,\"message\":\"...\",\"exit_code\":15}"},
    {"rpc-timeout", "D", "deadline of each RPC (watch and health use --timeout)"},
    {"database-url", "URL",
     "the service's PostgreSQL: storm verifies against it (read only); lab runs on a database "
     "given by this flag only"},
};

}  // namespace

const std::vector<CommandSpec>& Commands() {
  static const auto* commands = new std::vector<CommandSpec>{
      {"create-campaign",
       "",
       "Creates an open campaign and prints it.",
       {{"name", "N", "campaign name, 1 to 200 printable characters", true},
        {"cap", "N", "max participants; 0: unlimited"},
        {"waitlist", "BOOL",
         "waitlist applicants beyond the cap (unset: true) instead of rejecting them as "
         "campaign_full"},
        {"opens-at", "T",
         "RFC 3339 time (2026-05-01T10:00:00Z); Applies before it get FAILED_PRECONDITION"},
        {"closes-at", "T", "RFC 3339 time; the campaign closes by itself then"},
        {"prequeue-opens-at", "T",
         "RFC 3339 time before --opens-at: Applies from then on are accepted and decided at "
         "--opens-at in a random order, ahead of later arrivals (docs/queue-order.md)"},
        {"hold-duration", "D",
         "offer each seat as a hold of this long (1s to 24h, e.g. 10m), to be confirmed with "
         "`confirm` before it expires, instead of approving it finally; needs --cap "
         "(docs/holds.md). 0: approvals are final"},
        {"max-active-holds", "N",
         "at most N holds outstanding at once; the rest wait in line (needs --hold-duration). 0: "
         "as many as there are seats"},
        {"request-id", "X",
         "idempotency key (AIP-155): the same id and fields return the campaign the first call "
         "created; the same id with other fields is ALREADY_EXISTS. Unset: a random UUID the CLI "
         "makes, so that its own retries (up to 3 attempts when the outcome is unknown) never "
         "create a second campaign"}},
       "campaignq create-campaign --name=drop --cap=100 --opens-at=2026-05-01T10:00:00Z"},
      {"apply",
       "",
       "Applies a user to a campaign; prints the pending application. ALREADY_EXISTS when the "
       "user already applied. With --file, many users (ApplyBatch, up to 1,000 per call): one "
       "line of output per line of the file, exit 0 when every line is stored or already was.",
       {{"campaign", "ID", "campaign id (with --file: of every line)"},
        {"user", "USER", "the user's external id, 1 to 128 printable characters"},
        {"file", "F",
         "one user id per line with --campaign; without it, campaign_id,user_id per line"}},
       "campaignq apply --campaign=1 --user=alice"},
      {"get",
       "[ID]",
       "Shows one application (ID, or --application=ID) or one campaign (--campaign=ID).",
       {{"application", "ID", "the application to show (or the ID argument)"},
        {"campaign", "ID", "the campaign to show instead"}},
       "campaignq get 12"},
      {"get-campaign",
       "ID",
       "Shows one campaign (the same as get --campaign=ID).",
       {{"campaign", "ID", "instead of the ID argument"}},
       "campaignq get-campaign 1"},
      {"watch",
       "ID",
       "Prints the application's state, then every change, until a final status (approved, "
       "rejected, cancelled, failed, released, expired). Waitlisted is not final: a cancelled "
       "seat can still approve it, so the watch goes on; nor is held: it ends approved, released "
       "or expired. Exit 14 (DEADLINE_EXCEEDED) when --timeout, or the "
       "server's maximum watch duration, ends it first: watch again.",
       {{"application", "ID", "the application to follow (or the ID argument)"},
        {"timeout", "D", "how long to follow; 0: 30s"}},
       "campaignq watch 12 --timeout=2m"},
      {"list",
       "[applications|campaigns]",
       "Lists applications (or, with the argument campaigns, campaigns) in id order, following "
       "every page. With --json: one object holding every row; nextPageToken is set when --limit "
       "stopped it early and more rows exist.",
       {{"campaign", "ID", "only this campaign's applications"},
        {"status", "S",
         "only pending, approved, waitlisted, rejected, cancelled, failed, held, released or "
         "expired"},
        {"page-size", "N", "rows per RPC, 1..1000 (0: server default 100)"},
        {"limit", "N", "stop after N rows in all (0: every row)"}},
       "campaignq list --campaign=1 --status=failed --limit=20"},
      {"list-campaigns",
       "",
       "Lists campaigns in id order (the same as list campaigns).",
       {{"page-size", "N", "rows per RPC, 1..1000 (0: server default 100)"},
        {"limit", "N", "stop after N rows in all (0: every row)"}},
       "campaignq list-campaigns --limit=10"},
      {"cancel",
       "ID",
       "Cancels an application; an approved one hands its seat to the oldest waitlisted.",
       {{"application", "ID", "the application to cancel (or the ID argument)"}},
       "campaignq cancel 12"},
      {"confirm",
       "ID",
       "Confirms a held application before its hold_expires_at: it becomes approved and keeps "
       "its seat. FAILED_PRECONDITION (exit 19) once the hold has expired or for any status but "
       "held; ABORTED (exit 20) while a worker's batch holds the campaign: retry shortly.",
       {{"application", "ID", "the application to confirm (or the ID argument)"}},
       "campaignq confirm 12"},
      {"release",
       "ID",
       "Declines a held application: it becomes released (final) and its seat goes to the next "
       "in line. FAILED_PRECONDITION (exit 19) for any status but held.",
       {{"application", "ID", "the application to release (or the ID argument)"}},
       "campaignq release 12"},
      {"close",
       "ID",
       "Closes a campaign: pending and waitlisted applications are rejected campaign_closed.",
       {{"campaign", "ID", "the campaign to close (or the ID argument)"}},
       "campaignq close 1"},
      {"pause-campaign",
       "ID",
       "Pauses a campaign: workers decide nothing of it; Applies are still accepted and keep "
       "their order. FAILED_PRECONDITION when closed.",
       {{"campaign", "ID", "instead of the ID argument"}},
       "campaignq pause-campaign 1"},
      {"resume-campaign",
       "ID",
       "Resumes a paused campaign: deciding continues first come, first served.",
       {{"campaign", "ID", "instead of the ID argument"}},
       "campaignq resume-campaign 1"},
      {"delete-campaign",
       "ID",
       "Deletes a closed campaign and all its applications (admin; storm and test data); prints "
       "how many applications went with it. FAILED_PRECONDITION (exit 19) while it is open: "
       "close it first.",
       {{"campaign", "ID", "instead of the ID argument"}},
       "campaignq close 1 && campaignq delete-campaign 1"},
      {"retry",
       "ID",
       "Puts one failed application (the dead-letter queue) back to pending, attempts reset, "
       "in its original place. FAILED_PRECONDITION for any other status or a closed campaign.",
       {{"application", "ID", "instead of the ID argument"}},
       "campaignq retry 12"},
      {"retry-failed",
       "",
       "Puts every failed application of the campaign back to pending, in one transaction; "
       "prints how many.",
       {{"campaign", "ID", "the campaign", true}},
       "campaignq retry-failed --campaign=1"},
      {"stats",
       "",
       "Queue depth, decisions, age of the oldest pending application, stalled campaigns, and "
       "every campaign that is open or has pending work (all pages, up to --limit).",
       {{"stall-threshold", "D", "pending work without a decision for this long is stalled"},
        {"page-size", "N", "campaigns per GetQueueStats call, 1..1000 (0: server default 100)"},
        {"limit", "N", "stop after this many campaigns (0: every one)"}},
       "campaignq stats --json"},
      {"health",
       "",
       "grpc.health.v1 check for container probes: exit 0 if SERVING, else 1 (any failure, RPC "
       "errors included: health checks reserve other codes).",
       {{"timeout", "D", "deadline; 0: 3s"},
        {"service", "NAME", "service to check (empty: the whole server)"}},
       "campaignq health --timeout=2s"},
      {"storm",
       "",
       "Concurrent Apply load on M fresh campaigns, then a check against the database "
       "(--database-url, read only): cap (also sampled during the storm), counters, nothing lost "
       "or pending, fill, attempts and first come, first served. With --hold-duration every seat "
       "is a hold: a share of the holders confirm, some release, the rest let the hold expire, "
       "and the check adds that every hold ended, none late by more than 1s. Exit 3 when an "
       "invariant is broken.",
       {{"campaigns", "M", "number of campaigns"},
        {"applicants", "N", "number of applicants", true},
        {"cap", "C", "seats per campaign (0: unlimited)"},
        {"waitlist", "BOOL", "waitlist beyond the cap (unset: true)"},
        {"hold-duration", "D",
         "offer each seat as a hold of this long (1s to 24h; needs --cap). 0: approvals are final"},
        {"max-active-holds", "N",
         "at most N holds outstanding per campaign (needs --hold-duration). 0: as many as seats"},
        {"confirm-share", "F", "share of the holds whose holder confirms, 0 to 1"},
        {"release-share", "F",
         "share of the holds whose holder releases (declines), 0 to 1; the rest expire"},
        {"concurrency", "N", "concurrent Apply calls"},
        {"decide-timeout", "D", "how long to wait for every decision"},
        {"database-url", "URL", "the database to verify against (read only)"}},
       "campaignq storm --campaigns=4 --applicants=2000 --cap=50 --hold-duration=2s"},
      {"lab",
       "",
       "The race lab: every concurrency pattern against PostgreSQL, side by side, measured. "
       "Exit 3 when a row is not as expected (an unsafe strategy held or a safe one broke).",
       {{"database-url", "URL",
         "the PostgreSQL the lab runs on; only this flag counts (never $CAMPAIGNQ_DATABASE_URL, "
         "which points at the service's database)",
         true, true},
        {"scenario", "A,B",
         "scenarios to run: lost-update, campaign-overflow, queue-claim, deadlock, "
         "lock-duration, fk-lock, for-share (empty: all)"},
        {"strategy", "X,Y", "strategies to run (empty: all)"},
        {"clients", "N", "concurrent clients per run (0: each scenario's default)"},
        {"iterations", "N", "operations per client (0: each scenario's default)"},
        {"cap", "N", "seats in the scenarios that have a cap (0: the scenario default)"},
        {"seed", "N", "seed of the random choices"},
        {"html", "FILE", "also write a self-contained HTML report"},
        {"shared-database", "",
         "run even though the database holds the service's schema (refused without it)"}},
       "campaignq lab --scenario=lost-update --html=lab.html --database-url=postgresql://..."},
  };
  return *commands;
}

const CommandSpec* FindCommand(absl::string_view name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

const std::vector<FlagUse>& GlobalFlags() {
  static const auto* flags =
      new std::vector<FlagUse>(std::begin(kGlobalFlags), std::end(kGlobalFlags));
  return *flags;
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const CommandSpec& c : Commands()) names.emplace_back(c.name);
  return names;
}

absl::Status CheckFlags(const CommandSpec& command, const std::vector<std::string>& given) {
  auto takes = [](const std::vector<FlagUse>& flags, const std::string& name) {
    return std::any_of(flags.begin(), flags.end(),
                       [&](const FlagUse& f) { return name == f.name; });
  };
  for (const std::string& flag : given) {
    const std::string name = Dashed(flag);
    if (takes(command.flags, name) || takes(GlobalFlags(), name)) continue;
    std::vector<std::string> own;
    for (const FlagUse& f : command.flags) own.push_back(absl::StrCat("--", f.name));
    return absl::InvalidArgumentError(
        absl::StrCat("campaignq ", command.name, ": --", name, " is not a flag of ", command.name,
                     own.empty() ? " (it has none of its own"
                                 : absl::StrCat(" (its flags: ", absl::StrJoin(own, ", ")),
                     "; global flags: campaignq --help)"));
  }
  return absl::OkStatus();
}

namespace {

// The usage line after "campaignq [global flags] ".
std::string UsageLine(const CommandSpec& c) {
  std::string out = c.name;
  if (*c.args) absl::StrAppend(&out, " ", c.args);
  for (const FlagUse& f : c.flags) {
    absl::StrAppend(&out, f.required ? " " : " [", Spelling(f), f.required ? "" : "]");
  }
  return out;
}

// One flag of a help text: its spelling, its help, then what the registry
// knows: the default (unless it is the zero value, whose meaning the help
// gives) and the environment variable that sets it (CAMPAIGNQ_FLAG only).
std::string FlagText(const FlagUse& f) {
  std::string out = absl::StrCat("  ", Spelling(f), "\n", Wrapped(f.help, "      "));
  if (f.command_line_only) return out;
  const std::string identifier = absl::StrReplaceAll(f.name, {{"-", "_"}});
  std::vector<std::string> notes;
  if (const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(identifier); flag != nullptr) {
    const std::string default_value = flag->DefaultValue();
    if (default_value != "" && default_value != "0" && default_value != "false") {
      notes.push_back(absl::StrCat("default ", default_value));
    }
  }
  for (const EnvFlag& env : EnvFlags()) {
    if (env.name == identifier) {
      notes.push_back(absl::StrCat("env $", env.env_variable, " or $", env.env_variable, "_FILE"));
    }
  }
  if (!notes.empty()) absl::StrAppend(&out, Wrapped(absl::StrJoin(notes, "; "), "      "));
  return out;
}

}  // namespace

std::optional<std::string> CommandHelp(absl::string_view command) {
  const CommandSpec* c = FindCommand(command);
  if (c == nullptr) return std::nullopt;
  std::string out = absl::StrCat("usage: campaignq [global flags] ", UsageLine(*c), "\n\n",
                                 Wrapped(c->summary, ""));
  if (!c->flags.empty()) {
    absl::StrAppend(&out, "\nflags:\n");
    for (const FlagUse& f : c->flags) absl::StrAppend(&out, FlagText(f));
  }
  absl::StrAppend(&out, "\nexample:\n  ", c->example, "\n\n",
                  "Global flags (--server, --token, --tls, --json, ...) and exit codes: "
                  "campaignq --help\n");
  return out;
}

std::string ExitCodeText() {
  return R"(exit codes:
  0   ok
  1   other failure: not SERVING (health), a storm/lab run that could not finish
  2   usage error (bad command, flag or value); nothing was sent
  3   storm found a broken invariant, or a lab row was not as expected
  10+N  the RPC failed with gRPC status code N; `$? - 10` is the code:
  13  INVALID_ARGUMENT     the server refused a value
  14  DEADLINE_EXCEEDED    --rpc-timeout (watch: --timeout) ran out
  15  NOT_FOUND            no such campaign or application
  16  ALREADY_EXISTS       already applied; request id reused with other fields
  17  PERMISSION_DENIED    the token's role may not do this
  19  FAILED_PRECONDITION  the state forbids it (closed, open, not failed, ...)
  24  UNAVAILABLE          server unreachable or shutting down: retry
  26  UNAUTHENTICATED      missing or invalid token or certificate
  (and 11 CANCELLED, 12 UNKNOWN, 18 RESOURCE_EXHAUSTED, 20 ABORTED,
   21 OUT_OF_RANGE, 22 UNIMPLEMENTED, 23 INTERNAL, 25 DATA_LOSS)
)";
}

std::string UsageText() {
  std::string out =
      "usage: campaignq [global flags] <command> [flags]\n"
      "       campaignq <command> --help   (that command's flags and an example)\n\n"
      "commands:\n";
  for (const CommandSpec& c : Commands()) absl::StrAppend(&out, "  ", UsageLine(c), "\n");
  absl::StrAppend(&out,
                  "\nglobal flags (before or after the command; every command takes them, and "
                  "each command only its own flags besides):\n");
  for (const FlagUse& f : GlobalFlags()) absl::StrAppend(&out, FlagText(f));
  absl::StrAppend(&out,
                  "  --version\n      print the version and exit\n"
                  "  --help\n      this text; `campaignq COMMAND --help` for one command\n\n",
                  ExitCodeText());
  return out;
}

}  // namespace campaignq::client
