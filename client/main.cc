// campaignq: command-line client of the campaignq service. See cli.h.
// The race lab (lab/command.h) is linked into this executable only, and
// handed to the client library here: the RPC code never depends on it.

#include "client/cli.h"
#include "client/options.h"
#include "lab/command.h"

int main(int argc, char** argv) {
  return campaignq::client::RunCli(argc, argv, [](const campaignq::client::CliOptions& options) {
    return campaignq::lab::RunLabCommand({options.database_url, options.json, options.cap});
  });
}
