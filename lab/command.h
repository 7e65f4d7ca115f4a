#pragma once
// `campaignq lab`: the CLI entry point of the race lab.

#include <string>

namespace campaignq::lab {

// What the CLI's global flags contribute.
struct LabCommandInputs {
  // Used only when --database-url was given on the command line
  // (GivenOnCommandLine): never CAMPAIGNQ_DATABASE_URL, which every pod of
  // a deployment has, nor the local default.
  std::string database_url;
  bool json = false;
  int cap = 0;  // --cap; 0: the scenario default
};

// Reads the lab's own flags (--scenario, --strategy, --clients,
// --iterations, --seed, --html, --shared-database), runs the lab and prints
// the table (or JSON). Exit codes: 0 every row as expected (unsafe broke,
// safe held); 1 database error; 2 usage error (also: no explicit
// --database-url, or a database holding the service's schema without
// --shared-database); 3 some row not as expected.
int RunLabCommand(const LabCommandInputs& inputs);

}  // namespace campaignq::lab
