#include "client/cli.h"

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/commands.h"
#include "client/health.h"
#include "client/options.h"
#include "client/rpc.h"
#include "client/storm.h"
#include "common/exit_codes.h"
#include "common/flags.h"

// The two global flags a deployment configures read CAMPAIGNQ_SERVER and
// CAMPAIGNQ_DATABASE_URL; a command's own flags (--campaign, --user, ...)
// deliberately read no environment, so that a variable meant for another
// binary (CAMPAIGNQ_CONCURRENCY for the worker) never changes a command.
CAMPAIGNQ_FLAG(std::string, server, "CAMPAIGNQ_SERVER", "127.0.0.1:50051",
               "HOST:PORT of the campaignq server");
CAMPAIGNQ_FLAG(std::string, database_url, "CAMPAIGNQ_DATABASE_URL", campaignq::kDefaultDatabaseUrl,
               "PostgreSQL URL; storm verifies against it (read only), lab runs on it");
CAMPAIGNQ_FLAG(bool, tls, "CAMPAIGNQ_TLS", false,
               "connect with TLS (implied by --ca-cert, --cert, --key)");
CAMPAIGNQ_FLAG(std::string, ca_cert, "CAMPAIGNQ_CA_CERT", "",
               "PEM file: CA that signed the server's certificate (default: system roots)");
CAMPAIGNQ_FLAG(std::string, cert, "CAMPAIGNQ_CERT", "",
               "PEM file: client certificate for mutual TLS (with --key)");
CAMPAIGNQ_FLAG(std::string, key, "CAMPAIGNQ_KEY", "", "PEM file: private key of --cert");
CAMPAIGNQ_FLAG(std::string, token, "CAMPAIGNQ_TOKEN", "",
               "bearer token sent with every call (prefer the environment variable: a flag "
               "shows in the process list)");
ABSL_FLAG(bool, json, false, "print protobuf messages (and the storm summary) as JSON");
ABSL_FLAG(absl::Duration, rpc_timeout, absl::Seconds(10), "deadline of each RPC");
ABSL_FLAG(std::string, name, "", "campaign name (create-campaign)");
ABSL_FLAG(int32_t, cap, 0, "max participants; 0 = unlimited (create-campaign, storm)");
ABSL_FLAG(std::optional<bool>, waitlist, std::nullopt,
          "waitlist applicants beyond the cap (default true) instead of rejecting them");
ABSL_FLAG(int64_t, campaign, 0, "campaign id");
ABSL_FLAG(std::string, user, "", "user id (apply)");
ABSL_FLAG(int64_t, application, 0, "application id");
ABSL_FLAG(absl::Duration, timeout, absl::ZeroDuration(),
          "watch: how long to follow (default 30s); health: deadline (default 3s)");
ABSL_FLAG(std::string, status, "",
          "list filter: pending, approved, waitlisted, rejected, cancelled, failed");
ABSL_FLAG(int32_t, page_size, 0, "list page size, 1..1000 (0: server default 100)");
ABSL_FLAG(absl::Duration, stall_threshold, absl::Seconds(30), "stats: stall threshold");
ABSL_FLAG(std::string, service, "", "health: service name to check (default: whole server)");
ABSL_FLAG(int64_t, campaigns, 1, "storm: number of campaigns");
ABSL_FLAG(int64_t, applicants, 0, "storm: number of applicants");
ABSL_FLAG(int32_t, concurrency, 64, "storm: concurrent Apply calls");
ABSL_FLAG(absl::Duration, decide_timeout, absl::Seconds(120),
          "storm: how long to wait for every application to be decided");

namespace campaignq::client {
namespace {

CliOptions ReadFlags(const std::vector<std::string>& positional) {
  CliOptions o;
  o.server = absl::GetFlag(FLAGS_server);
  o.connect.tls = absl::GetFlag(FLAGS_tls);
  o.connect.ca_cert = absl::GetFlag(FLAGS_ca_cert);
  o.connect.cert = absl::GetFlag(FLAGS_cert);
  o.connect.key = absl::GetFlag(FLAGS_key);
  o.connect.token = absl::GetFlag(FLAGS_token);
  o.database_url = absl::GetFlag(FLAGS_database_url);
  o.json = absl::GetFlag(FLAGS_json);
  o.rpc_timeout = absl::GetFlag(FLAGS_rpc_timeout);
  o.name = absl::GetFlag(FLAGS_name);
  o.cap = absl::GetFlag(FLAGS_cap);
  o.waitlist = absl::GetFlag(FLAGS_waitlist);
  o.campaign = absl::GetFlag(FLAGS_campaign);
  o.user = absl::GetFlag(FLAGS_user);
  o.application = absl::GetFlag(FLAGS_application);
  o.timeout = absl::GetFlag(FLAGS_timeout);
  o.status = absl::GetFlag(FLAGS_status);
  o.page_size = absl::GetFlag(FLAGS_page_size);
  o.stall_threshold = absl::GetFlag(FLAGS_stall_threshold);
  o.service = absl::GetFlag(FLAGS_service);
  o.campaigns = absl::GetFlag(FLAGS_campaigns);
  o.applicants = absl::GetFlag(FLAGS_applicants);
  o.concurrency = absl::GetFlag(FLAGS_concurrency);
  o.decide_timeout = absl::GetFlag(FLAGS_decide_timeout);
  // positional[0] is the program, [1] the command.
  for (size_t i = 2; i < positional.size(); ++i) o.args.push_back(positional[i]);
  return o;
}

}  // namespace

std::string UsageText() {
  return R"(usage: campaignq [--server=HOST:PORT] [--tls ...] [--token=T] [--json] [--rpc-timeout=10s] <command> [flags]

commands:
  create-campaign --name=N [--cap=N] [--waitlist=true|false]
                                  create an open campaign (cap 0/unset: unlimited)
  apply --campaign=ID --user=USER apply a user to a campaign
  get --application=ID | --campaign=ID
                                  show one application or campaign
  watch --application=ID [--timeout=30s]
                                  print each state until a final one
  list [--campaign=ID] [--status=pending|approved|waitlisted|rejected|cancelled|failed]
       [--page-size=N]            list applications (all pages)
  list campaigns [--page-size=N]  list campaigns (all pages)
  cancel --application=ID         cancel an application
  close --campaign=ID             close a campaign
  stats [--stall-threshold=30s]   queue depth, decisions, stalled campaigns
  health [--timeout=3s] [--service=NAME]
                                  grpc.health.v1 check: exit 0 if SERVING, else 1
  storm --campaigns=M --applicants=N --cap=C [--waitlist=true] [--concurrency=64]
        [--decide-timeout=120s] [--database-url=URL]
                                  concurrent Apply load on M fresh campaigns, then
                                  verify against the database (--database-url):
                                  cap, counters, nothing lost or pending, fill,
                                  attempts and first come, first served
  lab [--scenario=A,B] [--strategy=X,Y] [--clients=N] [--iterations=N] [--cap=N]
      [--seed=N] [--html=FILE] [--database-url=URL]
                                  the race lab: every concurrency pattern against
                                  PostgreSQL, side by side, measured

global flags:
  --server=HOST:PORT    default $CAMPAIGNQ_SERVER or 127.0.0.1:50051
  --token=T             bearer token for every call; better $CAMPAIGNQ_TOKEN
  --tls                 connect with TLS (system roots), implied by:
  --ca-cert=FILE        PEM CA that signed the server's certificate
  --cert=FILE --key=FILE
                        PEM client certificate and key (mutual TLS)
  --json                print messages as JSON (proto field names); list prints
                        one object with every page; storm prints a JSON summary
  --rpc-timeout=10s     deadline of each RPC (watch and health use --timeout)
  --database-url=URL    default $CAMPAIGNQ_DATABASE_URL or the local default;
                        storm verifies against it (read only), lab runs on it
  --version             print the version and exit

exit codes: 0 ok; 1 RPC error, timeout or not serving (error: <CODE>: <message>
on stderr); 2 usage error; 3 storm found a broken invariant, or a lab row
was not as expected (an unsafe strategy held or a safe one broke)
)";
}

int RunCli(int argc, char** argv, const LabCommand& lab) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) return ReportUsageError(std::string(command_line.status().message()));
  if (command_line->help) {
    std::cout << UsageText();
    return kExitOk;
  }
  if (command_line->version) {
    std::cout << VersionLine("campaignq") << "\n";
    return kExitOk;
  }
  const std::vector<std::string>& positional = command_line->positional;
  if (positional.size() < 2) {
    std::cerr << UsageText();
    return kExitUsage;
  }
  const std::string command = positional[1];
  if (command == "help") {
    std::cout << UsageText();
    return kExitOk;
  }
  CliOptions options = ReadFlags(positional);
  if (command != "list" && !options.args.empty()) {
    return ReportUsageError(absl::StrCat("unexpected argument: ", options.args[0]));
  }

  if (command == "storm") return RunStorm(options);
  if (command == "lab") return lab(options);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> made =
      MakeChannel(options.server, options.connect);
  if (!made.ok()) return ReportUsageError(made.status().message());
  std::shared_ptr<grpc::Channel> channel = *std::move(made);
  if (command == "health") return RunHealth(channel, options);

  auto stub = v1::CampaignQueue::NewStub(channel);
  if (command == "create-campaign") return RunCreateCampaign(*stub, options);
  if (command == "apply") return RunApply(*stub, options);
  if (command == "get") return RunGet(*stub, options);
  if (command == "watch") return RunWatch(*stub, options);
  if (command == "list") return RunList(*stub, options);
  if (command == "cancel") return RunCancel(*stub, options);
  if (command == "close") return RunClose(*stub, options);
  if (command == "stats") return RunStats(*stub, options);
  return ReportUsageError(absl::StrCat("unknown command: ", command));
}

}  // namespace campaignq::client
