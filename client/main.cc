// campaignq: command-line client of the campaignq service. See cli.h.

#include "client/cli.h"

int main(int argc, char** argv) { return campaignq::client::RunCli(argc, argv); }
