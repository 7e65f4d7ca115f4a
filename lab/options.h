#pragma once
// What to run: the lab's command-line choices, already parsed.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace campaignq::lab {

struct LabOptions {
  std::string database_url;
  std::vector<std::string> scenarios;   // empty: every scenario
  std::vector<std::string> strategies;  // empty: every strategy
  int clients = 0;                      // 0: each scenario's default
  int iterations = 0;                   // 0: each scenario's default (per client)
  int cap = 0;                          // 0: campaign-overflow's default
  uint64_t seed = 1;
  // The database may hold the campaignq service's schema (--shared-database):
  // otherwise RunLab refuses it.
  bool shared_database = false;

  int ClientsOr(int fallback) const { return clients > 0 ? clients : fallback; }
  int IterationsOr(int fallback) const { return iterations > 0 ? iterations : fallback; }
  int CapOr(int fallback) const { return cap > 0 ? cap : fallback; }
  bool Wants(const std::string& strategy) const {
    return strategies.empty() ||
           std::find(strategies.begin(), strategies.end(), strategy) != strategies.end();
  }
};

}  // namespace campaignq::lab
