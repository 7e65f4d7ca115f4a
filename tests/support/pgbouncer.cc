#include "support/pgbouncer.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/poll.h"
#include "support/test_postgres.h"

namespace campaignq::testing {
namespace {

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// user, host and port of a postgresql://user@host:port/db URL.
void ParseServer(const std::string& url, std::string* user, std::string* host, std::string* port) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  const size_t at = rest.find('@');
  *user = at == std::string::npos ? "postgres" : rest.substr(0, rest.find_first_of(":@"));
  const std::string host_port = at == std::string::npos ? rest : rest.substr(at + 1);
  const size_t colon = host_port.rfind(':');
  *host = host_port.substr(0, colon);
  *port = colon == std::string::npos ? "5432" : host_port.substr(colon + 1);
}

}  // namespace

PgBouncer::PgBouncer() : dir_("pgbouncer") { Start(); }

void PgBouncer::Start() {
  std::string host, server_port;
  ParseServer(TestServerUrl(), &user_, &host, &server_port);
  port_ = FreePort();
  const std::string config = dir_.File("pgbouncer.ini");
  {
    std::ofstream out(config);
    out << "[databases]\n* = host=" << host << " port=" << server_port << "\n"
        << "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = " << port_ << "\n"
        << "unix_socket_dir =\nauth_type = trust\nauth_file = " << dir_.File("users.txt") << "\n"
        << "admin_users = " << user_ << "\npool_mode = transaction\n"
        << "max_client_conn = 1000\ndefault_pool_size = 20\n"
        << "ignore_startup_parameters = extra_float_digits,options\n"
        << "logfile = " << dir_.File("pgbouncer.log") << "\n";
    std::ofstream users(dir_.File("users.txt"));
    users << "\"" << user_ << "\" \"\"\n";
  }
  // PgBouncer refuses to run as root.
  ::chmod(dir_.path().c_str(), 0777);
  std::vector<std::string> args = {config};
  std::string binary = "/usr/sbin/pgbouncer";
  if (::geteuid() == 0) {
    args = {"-u", "postgres", "--", binary, config};
    binary = "/usr/sbin/runuser";
  }
  auto process = Process::Start({binary, args, {}, dir_.File("pgbouncer.stderr")});
  ASSERT_TRUE(process.ok()) << process.status();
  process_ = *std::move(process);
  const std::string probe = Through(UrlWithDatabase(TestServerUrl(), "postgres"));
  ASSERT_TRUE(PollUntil(
      [&] {
        try {
          pqxx::connection connection(probe);
          return true;
        } catch (const std::exception&) {
          return false;
        }
      },
      Deadline(std::chrono::seconds(30))))
      << "PgBouncer did not accept connections on port " << port_ << "; " << process_->Describe();
}

PgBouncer::~PgBouncer() {
  if (process_ != nullptr) {
    process_->Signal(SIGTERM).IgnoreError();
    process_->Wait(Deadline(std::chrono::seconds(10))).IgnoreError();
  }
}

std::string PgBouncer::Through(const std::string& direct_url) const {
  const std::string database = direct_url.substr(direct_url.rfind('/') + 1);
  return absl::StrCat("postgresql://", user_, "@127.0.0.1:", port_, "/", database);
}

int64_t PgBouncer::TransactionsServed() const {
  // Through psql: libpqxx refuses the admin console's server version.
  auto psql =
      Process::Start({"/usr/lib/postgresql/15/bin/psql",
                      {"-qtAX", "-c", "SHOW TOTALS",
                       absl::StrCat("postgresql://", user_, "@127.0.0.1:", port_, "/pgbouncer")},
                      {},
                      dir_.File("show-totals.stderr")});
  EXPECT_TRUE(psql.ok()) << psql.status();
  if (!psql.ok()) return -1;
  auto lines = (*psql)->AllStdoutLines(Deadline(std::chrono::seconds(10)));
  EXPECT_TRUE(lines.ok()) << lines.status();
  if (!lines.ok()) return -1;
  for (const std::string& line : *lines) {
    int64_t value = 0;
    if (absl::StartsWith(line, "total_xact_count|") &&
        absl::SimpleAtoi(line.substr(line.find('|') + 1), &value)) {
      return value;
    }
  }
  ADD_FAILURE() << "no total_xact_count in SHOW TOTALS";
  return -1;
}

}  // namespace campaignq::testing
