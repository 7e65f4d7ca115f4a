#include "client/cli.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/admin_commands.h"
#include "client/commands.h"
#include "client/health.h"
#include "client/options.h"
#include "client/rpc.h"
#include "client/storm.h"
#include "client/usage.h"
#include "common/exit_codes.h"
#include "common/flags.h"

// The global flags a deployment configures (where the server is, the
// database, TLS and the token) read their CAMPAIGNQ_ variables; a command's own flags (--campaign,
// --user, ...) deliberately read no environment, so that a variable meant for another binary
// (CAMPAIGNQ_CONCURRENCY for the worker) never changes a command.
// These definitions give each flag its type and default; which command takes
// it, and the help --help prints, are client/usage.cc's table, the help's one
// home (the CLI answers --helpfull with it too, so Abseil's help string is
// only a pointer there).
namespace {
constexpr char kSeeUsage[] = "see `campaignq --help` (client/usage.cc)";
}  // namespace
CAMPAIGNQ_FLAG(std::string, server, "CAMPAIGNQ_SERVER", "127.0.0.1:50051", kSeeUsage);
CAMPAIGNQ_FLAG(std::string, database_url, "CAMPAIGNQ_DATABASE_URL", campaignq::kDefaultDatabaseUrl,
               kSeeUsage);
CAMPAIGNQ_FLAG(bool, tls, "CAMPAIGNQ_TLS", false, kSeeUsage);
CAMPAIGNQ_FLAG(std::string, ca_cert, "CAMPAIGNQ_CA_CERT", "", kSeeUsage);
CAMPAIGNQ_FLAG(std::string, cert, "CAMPAIGNQ_CERT", "", kSeeUsage);
CAMPAIGNQ_FLAG(std::string, key, "CAMPAIGNQ_KEY", "", kSeeUsage);
CAMPAIGNQ_FLAG(std::string, token, "CAMPAIGNQ_TOKEN", "", kSeeUsage);
ABSL_FLAG(bool, json, false, kSeeUsage);
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(10), kSeeUsage);
ABSL_FLAG(std::string, name, "", kSeeUsage);
ABSL_FLAG(int32_t, cap, 0, kSeeUsage);
ABSL_FLAG(std::optional<bool>, waitlist, std::nullopt, kSeeUsage);
ABSL_FLAG(std::string, opens_at, "", kSeeUsage);
ABSL_FLAG(std::string, closes_at, "", kSeeUsage);
ABSL_FLAG(std::string, prequeue_opens_at, "", kSeeUsage);
ABSL_FLAG(std::string, request_id, "", kSeeUsage);
ABSL_FLAG(absl::Duration, hold_duration, absl::ZeroDuration(), kSeeUsage);
ABSL_FLAG(int32_t, max_active_holds, 0, kSeeUsage);
ABSL_FLAG(int64_t, limit, 0, kSeeUsage);
ABSL_FLAG(int64_t, campaign, 0, kSeeUsage);
ABSL_FLAG(std::string, user, "", kSeeUsage);
ABSL_FLAG(std::string, file, "", kSeeUsage);
ABSL_FLAG(int64_t, application, 0, kSeeUsage);
ABSL_FLAG(absl::Duration, timeout, absl::ZeroDuration(), kSeeUsage);
ABSL_FLAG(std::string, status, "", kSeeUsage);
ABSL_FLAG(int32_t, page_size, 0, kSeeUsage);
ABSL_FLAG(absl::Duration, stall_threshold, absl::Seconds(30), kSeeUsage);
ABSL_FLAG(std::string, service, "", kSeeUsage);
ABSL_FLAG(int64_t, campaigns, 1, kSeeUsage);
ABSL_FLAG(int64_t, applicants, 0, kSeeUsage);
ABSL_FLAG(int32_t, concurrency, 64, kSeeUsage);
ABSL_FLAG(absl::Duration, decide_timeout, absl::Seconds(120), kSeeUsage);
ABSL_FLAG(double, confirm_share, 0.5, kSeeUsage);
ABSL_FLAG(double, release_share, 0.25, kSeeUsage);

namespace campaignq::client {
namespace {

// Copies one flag's value into CliOptions.
using FlagReader = void (*)(CliOptions*);

// Every flag of usage.cc's table that RunCli reads, by its dashed name.
// The lab's own flags are missing: lab/command.cc reads them itself.
const std::map<std::string, FlagReader>& Readers() {
  static const auto* readers = new std::map<std::string, FlagReader>{
      {"server", [](CliOptions* o) { o->server = absl::GetFlag(FLAGS_server); }},
      {"tls", [](CliOptions* o) { o->connect.tls = absl::GetFlag(FLAGS_tls); }},
      {"ca-cert", [](CliOptions* o) { o->connect.ca_cert = absl::GetFlag(FLAGS_ca_cert); }},
      {"cert", [](CliOptions* o) { o->connect.cert = absl::GetFlag(FLAGS_cert); }},
      {"key", [](CliOptions* o) { o->connect.key = absl::GetFlag(FLAGS_key); }},
      {"token", [](CliOptions* o) { o->connect.token = absl::GetFlag(FLAGS_token); }},
      {"database-url", [](CliOptions* o) { o->database_url = absl::GetFlag(FLAGS_database_url); }},
      {"json", [](CliOptions* o) { o->json = absl::GetFlag(FLAGS_json); }},
      {"rpc-timeout", [](CliOptions* o) { o->rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout); }},
      {"name", [](CliOptions* o) { o->name = absl::GetFlag(FLAGS_name); }},
      {"cap", [](CliOptions* o) { o->cap = absl::GetFlag(FLAGS_cap); }},
      {"waitlist", [](CliOptions* o) { o->waitlist = absl::GetFlag(FLAGS_waitlist); }},
      {"opens-at", [](CliOptions* o) { o->opens_at = absl::GetFlag(FLAGS_opens_at); }},
      {"closes-at", [](CliOptions* o) { o->closes_at = absl::GetFlag(FLAGS_closes_at); }},
      {"prequeue-opens-at",
       [](CliOptions* o) { o->prequeue_opens_at = absl::GetFlag(FLAGS_prequeue_opens_at); }},
      {"request-id", [](CliOptions* o) { o->request_id = absl::GetFlag(FLAGS_request_id); }},
      {"hold-duration",
       [](CliOptions* o) { o->hold_duration = absl::GetFlag(FLAGS_hold_duration); }},
      {"max-active-holds",
       [](CliOptions* o) { o->max_active_holds = absl::GetFlag(FLAGS_max_active_holds); }},
      {"campaign", [](CliOptions* o) { o->campaign = absl::GetFlag(FLAGS_campaign); }},
      {"user", [](CliOptions* o) { o->user = absl::GetFlag(FLAGS_user); }},
      {"file", [](CliOptions* o) { o->file = absl::GetFlag(FLAGS_file); }},
      {"application", [](CliOptions* o) { o->application = absl::GetFlag(FLAGS_application); }},
      {"timeout", [](CliOptions* o) { o->timeout = absl::GetFlag(FLAGS_timeout); }},
      {"status", [](CliOptions* o) { o->status = absl::GetFlag(FLAGS_status); }},
      {"page-size", [](CliOptions* o) { o->page_size = absl::GetFlag(FLAGS_page_size); }},
      {"limit", [](CliOptions* o) { o->limit = absl::GetFlag(FLAGS_limit); }},
      {"stall-threshold",
       [](CliOptions* o) { o->stall_threshold = absl::GetFlag(FLAGS_stall_threshold); }},
      {"service", [](CliOptions* o) { o->service = absl::GetFlag(FLAGS_service); }},
      {"campaigns", [](CliOptions* o) { o->campaigns = absl::GetFlag(FLAGS_campaigns); }},
      {"applicants", [](CliOptions* o) { o->applicants = absl::GetFlag(FLAGS_applicants); }},
      {"concurrency", [](CliOptions* o) { o->concurrency = absl::GetFlag(FLAGS_concurrency); }},
      {"decide-timeout",
       [](CliOptions* o) { o->decide_timeout = absl::GetFlag(FLAGS_decide_timeout); }},
      {"confirm-share",
       [](CliOptions* o) { o->confirm_share = absl::GetFlag(FLAGS_confirm_share); }},
      {"release-share",
       [](CliOptions* o) { o->release_share = absl::GetFlag(FLAGS_release_share); }},
  };
  return *readers;
}

void ReadEach(const std::vector<FlagUse>& flags, CliOptions* o) {
  for (const FlagUse& f : flags) {
    auto reader = Readers().find(f.name);
    if (reader != Readers().end()) reader->second(o);
  }
}

// The global flags and `command`'s own; every other field keeps
// CliOptions' default, so that a flag a command does not list can never
// reach it (CheckFlags has refused it on the command line; the
// environment sets only global flags).
CliOptions ReadFlags(const CommandSpec& command, const std::vector<std::string>& positional) {
  CliOptions o;
  ReadEach(GlobalFlags(), &o);
  ReadEach(command.flags, &o);
  // positional[0] is the program, [1] the command.
  for (size_t i = 2; i < positional.size(); ++i) o.args.push_back(positional[i]);
  return o;
}

// Abseil names of the flags the command line set (not the environment).
std::vector<std::string> FlagsOnCommandLine() {
  std::vector<std::string> given;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (GivenOnCommandLine(name)) given.emplace_back(name);
  }
  std::sort(given.begin(), given.end());
  return given;
}

// The command a --help is about: the first argument that names one
// (`campaignq --server=X apply --help`), else "" for the overall usage.
// `help COMMAND` counts too.
std::string HelpTopic(int argc, char** argv) {
  for (int i = 1; i < argc && absl::string_view(argv[i]) != "--"; ++i) {
    if (CommandHelp(argv[i])) return argv[i];
  }
  return "";
}

// Whether --json is on the command line: for reporting a command line that
// could not be parsed (so the flag itself was never read) as JSON too.
bool JsonRequested(int argc, char** argv) {
  for (int i = 1; i < argc && absl::string_view(argv[i]) != "--"; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--json" || arg == "-json" || arg == "--json=true") return true;
  }
  return false;
}

int PrintHelp(int argc, char** argv) {
  const std::string topic = HelpTopic(argc, argv);
  std::cout << (topic.empty() ? UsageText() : *CommandHelp(topic));
  return kExitOk;
}

using StubCommand = int (*)(Stub&, const CliOptions&);

StubCommand FindStubCommand(const std::string& command) {
  static const auto* commands = new std::map<std::string, StubCommand>{
      {"create-campaign", RunCreateCampaign},
      {"apply", RunApply},
      {"get", RunGet},
      {"get-campaign", RunGetCampaign},
      {"watch", RunWatch},
      {"list", RunList},
      {"cancel", RunCancel},
      {"confirm", RunConfirm},
      {"release", RunRelease},
      {"close", RunClose},
      {"stats", RunStats},
      {"pause-campaign", RunPauseCampaign},
      {"resume-campaign", RunResumeCampaign},
      {"delete-campaign", RunDeleteCampaign},
      {"retry", RunRetryApplication},
      {"retry-failed", RunRetryFailed},
  };
  auto it = commands->find(command);
  return it == commands->end() ? nullptr : it->second;
}

}  // namespace

int RunCli(int argc, char** argv, const LabCommand& lab) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    return ReportUsageError(command_line.status().message(), JsonRequested(argc, argv));
  }
  if (command_line->help) return PrintHelp(argc, argv);
  if (command_line->version) {
    std::cout << VersionLine("campaignq") << "\n";
    return kExitOk;
  }
  const std::vector<std::string>& positional = command_line->positional;
  if (positional.size() < 2) {
    std::cerr << UsageText();
    return kExitUsage;
  }
  std::string command = positional[1];
  if (command == "help") return PrintHelp(argc, argv);
  const CommandSpec* spec = FindCommand(command);
  if (spec == nullptr) {
    return ReportUsageError(absl::StrCat("unknown command: ", command), absl::GetFlag(FLAGS_json));
  }
  if (absl::Status flags = CheckFlags(*spec, FlagsOnCommandLine()); !flags.ok()) {
    return ReportUsageError(flags.message(), absl::GetFlag(FLAGS_json));
  }
  CliOptions options = ReadFlags(*spec, positional);
  if (*spec->args == '\0' && !options.args.empty()) {
    return ReportUsageError(absl::StrCat("unexpected argument: ", options.args[0]), options.json);
  }
  if (command == "list-campaigns") {  // `list campaigns` in one word
    command = "list";
    options.args = {"campaigns"};
  }
  const StubCommand stub_command = FindStubCommand(command);

  if (command == "storm") return RunStorm(options);
  if (command == "lab") return lab(options);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
      MakeChannel(options.server, options.connect);
  if (!made.ok()) return ReportUsageError(made.status().message(), options.json);
  std::shared_ptr<grpc::Channel> channel = *std::move(made);
  if (command == "health") return RunHealth(channel, options);
  auto stub = v1::CampaignQueue::NewStub(channel);
  return stub_command(*stub, options);
}

}  // namespace campaignq::client
