#include "client/usage.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace campaignq::client {
namespace {

struct Flag {
  const char* spelling;
  const char* help;
};

struct Command {
  const char* name;
  const char* usage;  // after "campaignq "
  const char* summary;
  std::vector<Flag> flags;
  const char* example;
};

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

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"create-campaign",
       "create-campaign --name=N [--cap=N] [--waitlist=true|false] [--opens-at=T] "
       "[--closes-at=T] [--request-id=X]",
       "Creates an open campaign and prints it.",
       {{"--name=N", "campaign name, 1 to 200 printable characters (required)"},
        {"--cap=N", "max participants; 0 or unset: unlimited"},
        {"--waitlist=BOOL",
         "waitlist applicants beyond the cap (default true) instead of "
         "rejecting them as campaign_full"},
        {"--opens-at=T",
         "RFC 3339 time (2026-05-01T10:00:00Z); Applies before it get "
         "FAILED_PRECONDITION"},
        {"--closes-at=T", "RFC 3339 time; the campaign closes by itself then"},
        {"--request-id=X",
         "idempotency key (AIP-155): the same id and fields return the "
         "campaign the first call created; the same id with other fields is "
         "ALREADY_EXISTS. Default: a random UUID the CLI makes, so that its own "
         "retries (up to 3 attempts when the outcome is unknown) never create "
         "a second campaign"}},
       "campaignq create-campaign --name=drop --cap=100 --opens-at=2026-05-01T10:00:00Z"},
      {"apply",
       "apply --campaign=ID --user=USER",
       "Applies a user to a campaign; prints the pending application. ALREADY_EXISTS when the "
       "user already applied.",
       {{"--campaign=ID", "campaign id (required)"},
        {"--user=USER", "the user's external id, 1 to 128 printable characters (required)"}},
       "campaignq apply --campaign=1 --user=alice"},
      {"get",
       "get ID | --application=ID | --campaign=ID",
       "Shows one application (ID, or --application=ID) or one campaign (--campaign=ID).",
       {{"--application=ID", "the application to show (or the ID argument)"},
        {"--campaign=ID", "the campaign to show instead"}},
       "campaignq get 12"},
      {"get-campaign",
       "get-campaign ID",
       "Shows one campaign (the same as get --campaign=ID).",
       {{"--campaign=ID", "instead of the ID argument"}},
       "campaignq get-campaign 1"},
      {"watch",
       "watch ID [--timeout=30s]",
       "Prints the application's state, then every change, until a final status (approved, "
       "rejected, cancelled, failed). Waitlisted is not final: a cancelled seat can still "
       "approve it, so the watch goes on. Exit 14 (DEADLINE_EXCEEDED) when --timeout, or the "
       "server's maximum watch duration, ends it first: watch again.",
       {{"--application=ID", "the application to follow (or the ID argument)"},
        {"--timeout=D", "how long to follow (default 30s)"}},
       "campaignq watch 12 --timeout=2m"},
      {"list",
       "list [applications] [--campaign=ID] [--status=S] [--page-size=N] [--limit=N]\n"
       "  campaignq list campaigns [--page-size=N] [--limit=N]",
       "Lists applications (or campaigns) in id order, following every page. With --json: one "
       "object holding every row; next_page_token is set when --limit stopped it early.",
       {{"--campaign=ID", "only this campaign's applications"},
        {"--status=S", "only pending, approved, waitlisted, rejected, cancelled or failed"},
        {"--page-size=N", "rows per RPC, 1..1000 (0: server default 100)"},
        {"--limit=N", "stop after N rows in all (0: every row)"}},
       "campaignq list --campaign=1 --status=failed --limit=20"},
      {"list-campaigns",
       "list-campaigns [--page-size=N] [--limit=N]",
       "Lists campaigns in id order (the same as list campaigns).",
       {{"--page-size=N", "rows per RPC, 1..1000 (0: server default 100)"},
        {"--limit=N", "stop after N rows in all (0: every row)"}},
       "campaignq list-campaigns --limit=10"},
      {"cancel",
       "cancel ID",
       "Cancels an application; an approved one hands its seat to the oldest waitlisted.",
       {{"--application=ID", "the application to cancel (or the ID argument)"}},
       "campaignq cancel 12"},
      {"close",
       "close ID",
       "Closes a campaign: pending and waitlisted applications are rejected campaign_closed.",
       {{"--campaign=ID", "the campaign to close (or the ID argument)"}},
       "campaignq close 1"},
      {"pause-campaign",
       "pause-campaign ID",
       "Pauses a campaign: workers decide nothing of it; Applies are still accepted and keep "
       "their order. FAILED_PRECONDITION when closed.",
       {{"--campaign=ID", "instead of the ID argument"}},
       "campaignq pause-campaign 1"},
      {"resume-campaign",
       "resume-campaign ID",
       "Resumes a paused campaign: deciding continues first come, first served.",
       {{"--campaign=ID", "instead of the ID argument"}},
       "campaignq resume-campaign 1"},
      {"delete-campaign",
       "delete-campaign ID",
       "Deletes a closed campaign and all its applications (admin; storm and test data); prints "
       "how many applications went with it. FAILED_PRECONDITION (exit 19) while it is open: "
       "close it first.",
       {{"--campaign=ID", "instead of the ID argument"}},
       "campaignq close 1 && campaignq delete-campaign 1"},
      {"retry",
       "retry ID",
       "Puts one failed application (the dead-letter queue) back to pending, attempts reset, "
       "in its original place. FAILED_PRECONDITION for any other status or a closed campaign.",
       {{"--application=ID", "instead of the ID argument"}},
       "campaignq retry 12"},
      {"retry-failed",
       "retry-failed --campaign=ID",
       "Puts every failed application of the campaign back to pending, in one transaction; "
       "prints how many.",
       {{"--campaign=ID", "the campaign (required)"}},
       "campaignq retry-failed --campaign=1"},
      {"stats",
       "stats [--stall-threshold=30s] [--page-size=N] [--limit=N]",
       "Queue depth, decisions, age of the oldest pending application, stalled campaigns, and "
       "every campaign that is open or has pending work (all pages, up to --limit).",
       {{"--stall-threshold=D", "pending work without a decision for this long is stalled"},
        {"--page-size=N", "campaigns per GetQueueStats call, 1..1000 (0: server default 100)"},
        {"--limit=N", "stop after this many campaigns (0: every one)"}},
       "campaignq stats --json"},
      {"health",
       "health [--timeout=3s] [--service=NAME]",
       "grpc.health.v1 check for container probes: exit 0 if SERVING, else 1 (any failure, RPC "
       "errors included: health checks reserve other codes).",
       {{"--timeout=D", "deadline (default 3s)"},
        {"--service=NAME", "service to check (default: the whole server)"}},
       "campaignq health --timeout=2s"},
      {"storm",
       "storm --campaigns=M --applicants=N --cap=C [--waitlist=true] [--concurrency=64] "
       "[--decide-timeout=120s] [--database-url=URL]",
       "Concurrent Apply load on M fresh campaigns, then a check against the database "
       "(--database-url, read only): cap, counters, nothing lost or pending, fill, attempts and "
       "first come, first served. Exit 3 when an invariant is broken.",
       {{"--campaigns=M", "number of campaigns (default 1)"},
        {"--applicants=N", "number of applicants (required)"},
        {"--cap=C", "seats per campaign (0: unlimited)"},
        {"--waitlist=BOOL", "waitlist beyond the cap (default true)"},
        {"--concurrency=N", "concurrent Apply calls (default 64)"},
        {"--decide-timeout=D", "how long to wait for every decision (default 120s)"},
        {"--database-url=URL", "the database to verify against"}},
       "campaignq storm --campaigns=4 --applicants=2000 --cap=50"},
      {"lab",
       "lab [--scenario=A,B] [--strategy=X,Y] [--clients=N] [--iterations=N] [--cap=N] "
       "[--seed=N] [--html=FILE] [--database-url=URL]",
       "The race lab: every concurrency pattern against PostgreSQL, side by side, measured. "
       "Exit 3 when a row is not as expected (an unsafe strategy held or a safe one broke).",
       {{"--scenario=A,B", "scenarios to run (default all)"},
        {"--strategy=X,Y", "strategies to run (default all)"},
        {"--html=FILE", "also write a self-contained HTML report"},
        {"--database-url=URL", "the PostgreSQL the lab runs on (given on the command line)"}},
       "campaignq lab --scenario=lost-update --html=lab.html --database-url=postgresql://..."},
  };
  return *commands;
}

constexpr char kGlobalFlags[] = R"(global flags (before or after the command):
  --server=HOST:PORT    default $CAMPAIGNQ_SERVER or 127.0.0.1:50051
  --token=T             bearer token for every call; better $CAMPAIGNQ_TOKEN
  --tls                 connect with TLS (system roots), implied by:
  --ca-cert=FILE        PEM CA that signed the server's certificate
  --cert=FILE --key=FILE
                        PEM client certificate and key (mutual TLS)
  --json                print messages as JSON (proto field names) on stdout;
                        errors as one JSON object on stderr:
                        {"code":"NOT_FOUND","grpc_code":5,"message":"...",
                         "request_id":"...","exit_code":15}
  --rpc-timeout=10s     deadline of each RPC (watch and health use --timeout)
  --database-url=URL    default $CAMPAIGNQ_DATABASE_URL or the local default;
                        storm verifies against it (read only), lab runs on it
  --version             print the version and exit
  --help                this text; `campaignq COMMAND --help` for one command
)";

}  // namespace

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const Command& c : Commands()) names.emplace_back(c.name);
  return names;
}

std::optional<std::string> CommandHelp(absl::string_view command) {
  for (const Command& c : Commands()) {
    if (command != c.name) continue;
    std::string out =
        absl::StrCat("usage: campaignq [global flags] ", c.usage, "\n\n", Wrapped(c.summary, ""));
    if (!c.flags.empty()) {
      absl::StrAppend(&out, "\nflags:\n");
      for (const Flag& f : c.flags) {
        absl::StrAppend(&out, "  ", f.spelling, "\n", Wrapped(f.help, "      "));
      }
    }
    absl::StrAppend(&out, "\nexample:\n  ", c.example, "\n\n",
                    "Global flags (--server, --token, --tls, --json, ...) and exit codes: "
                    "campaignq --help\n");
    return out;
  }
  return std::nullopt;
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
  for (const Command& c : Commands()) absl::StrAppend(&out, "  ", c.usage, "\n");
  absl::StrAppend(&out, "\n", kGlobalFlags, "\n", ExitCodeText());
  return out;
}

}  // namespace campaignq::client
