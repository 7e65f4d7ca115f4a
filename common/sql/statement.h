#pragma once
// Named SQL statements embedded from sql/queries/*.sql. Each statement lives
// once, under a "-- name: X" header; build/generated/statements.h declares
// a constant kX for each, so a misspelt name does not compile.

#include <map>
#include <string>
#include <vector>

namespace campaignq::sql {

// A statement's name; its text is StatementText(statement). The name is
// also the prepared statement's name on every connection.
struct Statement {
  const char* name;
};

// One embedded file: its base name and full text.
struct SqlFile {
  const char* file_name;
  const char* text;
};

// Defined in the generated sql_files.cc.
const std::vector<SqlFile>& QueryFiles();
const std::vector<SqlFile>& MigrationFiles();

// The text of a named statement (the block after its header). Aborts on an
// unknown name, which the generated constants make impossible.
const std::string& StatementText(Statement statement);

// Every named statement as (name, text), in file order.
const std::vector<std::pair<std::string, std::string>>& AllStatements();

// Every named statement of `files`, by name: the catalogues embedded apart
// from the service's (the race lab's, the verification kit's checks).
std::map<std::string, std::string> NamedStatementsOf(const std::vector<SqlFile>& files);

// Splits a query file into its named statements. Exposed for tests.
std::vector<std::pair<std::string, std::string>> SplitNamedStatements(const std::string& text);

}  // namespace campaignq::sql
