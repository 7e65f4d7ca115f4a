#pragma once
// The parsed command line, handed to commands so that only cli.cc touches
// the Abseil flag globals.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/exit_codes.h"  // kExitOk, kExitFailure, kExitUsage, kExitInvariantBroken

namespace campaignq::client {

// How to reach the server: TLS and credentials (rpc.h: MakeChannel).
struct ConnectOptions {
  // TLS; --ca-cert, --cert and --key imply it. Without --ca-cert the
  // system's roots verify the server.
  bool tls = false;
  std::string ca_cert;  // PEM file: the CA that signed the server's certificate
  std::string cert;     // PEM file: client certificate for mutual TLS, with key
  std::string key;      // PEM file: its private key
  // Sent as `authorization: Bearer <token>` on every call; empty: none.
  std::string token;
};

struct CliOptions {
  std::string server;
  ConnectOptions connect;
  std::string database_url;  // PostgreSQL: storm verifies against it, lab runs on it
  bool json = false;
  absl::Duration rpc_timeout = absl::Seconds(10);

  std::string name;
  int32_t cap = 0;  // 0: unlimited
  std::optional<bool> waitlist;
  std::string opens_at;           // RFC 3339; empty: open at once
  std::string closes_at;          // RFC 3339; empty: only `close` closes it
  std::string prequeue_opens_at;  // RFC 3339; empty: no pre-queue
  std::string request_id;         // create-campaign's AIP-155 id; empty: a random UUID
  absl::Duration hold_duration = absl::ZeroDuration();  // 0: approvals are final
  int32_t max_active_holds = 0;                         // 0: as many holds as seats
  int64_t campaign = 0;
  std::string user;
  std::string file;  // apply --file: many Applies (client/apply_file.h)
  int64_t application = 0;
  absl::Duration timeout = absl::ZeroDuration();  // 0: the command's default
  std::string status;
  int32_t page_size = 0;
  int64_t limit = 0;  // list: stop after this many rows; 0: every row
  absl::Duration stall_threshold = absl::Seconds(30);
  std::string service;

  int64_t campaigns = 1;
  int64_t applicants = 0;
  int32_t concurrency = 64;
  absl::Duration decide_timeout = absl::Seconds(120);
  // storm with --hold-duration: shares of the holds confirmed and released;
  // the rest expire.
  double confirm_share = 0.5;
  double release_share = 0.25;

  // Positional arguments after the command name (e.g. "campaigns" in
  // `list campaigns`).
  std::vector<std::string> args;
};

}  // namespace campaignq::client
