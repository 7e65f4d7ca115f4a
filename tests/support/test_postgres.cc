#include "support/test_postgres.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/verify/process.h"
#include "support/temp_dir.h"

#ifndef CAMPAIGNQ_ROLES_SQL
#define CAMPAIGNQ_ROLES_SQL ""
#endif

#ifndef CAMPAIGNQ_POSTGRES_BIN_DIR
#define CAMPAIGNQ_POSTGRES_BIN_DIR "/usr/lib/postgresql/15/bin"
#endif

extern char** environ;

namespace campaignq::testing {

struct Cluster {
  std::string url;
  std::string dir;
  std::string data_dir;
  std::string log;
  std::string options;  // postgres -c settings, the port among them
  pid_t watchdog = -1;
  int watchdog_pipe = -1;  // write end; closing it stops the cluster
};

namespace {

// Where initdb and pg_ctl live: $CAMPAIGNQ_POSTGRES_BIN_DIR when set, else
// the directory CMake found (tests/support/CMakeLists.txt).
std::string PgBinDir() {
  const char* from_env = std::getenv("CAMPAIGNQ_POSTGRES_BIN_DIR");
  return from_env != nullptr && *from_env != '\0' ? from_env : CAMPAIGNQ_POSTGRES_BIN_DIR;
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr,
               "\ncampaignq tests: FATAL: %s\n"
               "  (db and e2e tests need PostgreSQL: set CAMPAIGNQ_TEST_DATABASE_URL or install "
               "PostgreSQL 15 server binaries under %s, or point CAMPAIGNQ_POSTGRES_BIN_DIR at "
               "them; scripts/test does both)\n",
               message.c_str(), PgBinDir().c_str());
  std::fflush(stderr);
  std::abort();
}

std::string PgBin(const char* name) { return absl::StrCat(PgBinDir(), "/", name); }

// PostgreSQL refuses to run as root: run its tools as `postgres` then.
std::vector<std::string> AsPostgres(std::vector<std::string> command) {
  if (::geteuid() != 0) return command;
  std::vector<std::string> wrapped{"/usr/sbin/runuser", "-u", "postgres", "--"};
  wrapped.insert(wrapped.end(), command.begin(), command.end());
  return wrapped;
}

// Runs a command to completion with stdout+stderr appended to `log`; its
// exit code (-1 if it could not start or was killed).
int Run(const std::vector<std::string>& command, const std::string& log) {
  std::vector<std::string> strings = command;
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A port that was free a moment ago: bind 127.0.0.1:0 and read it back.
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) Die(absl::StrCat("socket: ", std::strerror(errno)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Die(absl::StrCat("bind 127.0.0.1:0: ", std::strerror(errno)));
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

Cluster* g_cluster = nullptr;

// Closes the watchdog's pipe: it stops the cluster and deletes its directory.
void DisposeCluster(Cluster* cluster) {
  if (cluster == nullptr || cluster->watchdog_pipe < 0) return;
  ::close(cluster->watchdog_pipe);
  cluster->watchdog_pipe = -1;
  int status;
  while (::waitpid(cluster->watchdog, &status, 0) < 0 && errno == EINTR) {
  }
}

std::mutex g_databases_mutex;
std::vector<std::string>* g_databases = new std::vector<std::string>();

void StopCluster() { DisposeCluster(g_cluster); }

// A child that blocks reading a pipe whose only write end this process
// holds (O_CLOEXEC, so no spawned server inherits it). When the read
// returns (we closed it, exited or were killed), it stops the cluster and
// removes its directory.
void StartWatchdog(Cluster* cluster, const std::string& data_dir) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) Die(absl::StrCat("pipe2: ", std::strerror(errno)));
  std::string stop;
  for (const std::string& word :
       AsPostgres({PgBin("pg_ctl"), "stop", "-D", data_dir, "-m", "immediate", "-w"})) {
    absl::StrAppend(&stop, "'", word, "' ");
  }
  const std::string script = absl::StrCat("trap '' INT TERM HUP; read -r _ignored; ", stop,
                                          ">/dev/null 2>&1; rm -rf '", cluster->dir, "'");
  std::vector<std::string> strings{"/bin/sh", "-c", script};
  std::vector<char*> argv;
  for (auto& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  // Its own process group: a Ctrl-C to the test's group does not stop it
  // before it has cleaned up.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[0]);
  if (rc != 0) Die(absl::StrCat("spawn watchdog: ", std::strerror(rc)));
  cluster->watchdog = pid;
  cluster->watchdog_pipe = fds[1];
}

void ChownToPostgres(const std::string& path) {
  if (::geteuid() != 0) return;
  const passwd* user = ::getpwnam("postgres");
  if (user == nullptr) Die("running as root but there is no 'postgres' user to run PostgreSQL as");
  if (::chown(path.c_str(), user->pw_uid, user->pw_gid) != 0) {
    Die(absl::StrCat("chown ", path, ": ", std::strerror(errno)));
  }
}

bool StartPostgres(const Cluster& cluster) {
  return Run(AsPostgres({PgBin("pg_ctl"), "start", "-D", cluster.data_dir, "-l", cluster.log, "-w",
                         "-t", "60", "-o", cluster.options}),
             cluster.log) == 0;
}

// initdb, the watchdog, and a first start on a free port.
Cluster* CreateCluster() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (::access(PgBin(tool).c_str(), X_OK) != 0) Die(absl::StrCat(PgBin(tool), " not found"));
  }
  auto* cluster = new Cluster();
  cluster->dir = MakeTestTempDir(absl::StrCat("postgres-", ::getpid()));
  ::chmod(cluster->dir.c_str(), 0755);
  ChownToPostgres(cluster->dir);
  const std::string data_dir = cluster->data_dir = cluster->dir + "/data";
  const std::string log = cluster->log = cluster->dir + "/postgres.log";
  // The log must be writable by postgres too.
  ::close(::open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
  ChownToPostgres(log);

  if (Run(AsPostgres({PgBin("initdb"), "-D", data_dir, "--auth=trust", "--username=postgres",
                      "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"}),
          log) != 0) {
    Die(absl::StrCat("initdb failed; log ", log, ":\n", verify::TailOfFile(log)));
  }
  // From here on, whatever happens, the watchdog removes the cluster.
  StartWatchdog(cluster, data_dir);

  for (int attempt = 1;; ++attempt) {
    const int port = FreePort();
    cluster->options = absl::StrCat(
        "-c listen_addresses=127.0.0.1 -c port=", port,
        " -c unix_socket_directories=", cluster->dir,
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
        " -c shared_buffers=64MB");
    if (StartPostgres(*cluster)) {
      cluster->url = absl::StrCat("postgresql://postgres@127.0.0.1:", port, "/postgres");
      return cluster;
    }
    // Most likely another process took the port between our probe and the
    // bind; try another one a few times.
    if (attempt == 5)
      Die(absl::StrCat("pg_ctl start failed 5 times; log ", log, ":\n", verify::TailOfFile(log)));
  }
}

std::string QuoteIdentifier(const std::string& name) { return absl::StrCat("\"", name, "\""); }

void DropDatabasesAtExit() {
  const char* keep = std::getenv("CAMPAIGNQ_TEST_KEEP_DATABASES");
  if (keep != nullptr && std::string(keep) == "1") return;
  // A throwaway cluster is deleted whole.
  if (g_cluster != nullptr) return;
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(g_databases_mutex);
    names = *g_databases;
  }
  if (names.empty()) return;
  try {
    pqxx::connection admin(TestServerUrl());
    for (const std::string& name : names) {
      pqxx::nontransaction txn(admin);
      txn.exec(absl::StrCat("DROP DATABASE IF EXISTS ", QuoteIdentifier(name), " WITH (FORCE)"));
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "campaignq tests: could not drop test databases: %s\n", error.what());
  }
}

}  // namespace

std::string MarkFailedSql(int64_t application_id, const std::string& last_error) {
  return absl::StrCat(
      "WITH failed AS (UPDATE applications SET status = 'failed', attempts = 3, last_error = '",
      last_error, "', decided_at = clock_timestamp() WHERE id = ", application_id,
      " AND status <> 'failed' RETURNING id, campaign_id), "
      "counted AS (UPDATE campaigns c SET failed_count = c.failed_count + 1 "
      "FROM failed f WHERE c.id = f.campaign_id) SELECT id FROM failed");
}

std::string TestServerUrl() {
  static std::once_flag once;
  static std::string* url = nullptr;
  std::call_once(once, [] {
    const char* env = std::getenv("CAMPAIGNQ_TEST_DATABASE_URL");
    if (env != nullptr && *env != '\0') {
      url = new std::string(env);
    } else {
      g_cluster = CreateCluster();
      std::atexit(StopCluster);
      url = new std::string(g_cluster->url);
    }
  });
  return *url;
}

std::string UrlWithDatabase(const std::string& url, const std::string& database) {
  const bool uri = absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
  if (!uri) return absl::StrCat(url, url.empty() ? "" : " ", "dbname=", database);
  const size_t authority = url.find("://") + 3;
  const size_t query = url.find('?', authority);
  const size_t path = url.find('/', authority);
  const std::string rest = query == std::string::npos ? "" : url.substr(query);
  const size_t host_end =
      (path != std::string::npos && (query == std::string::npos || path < query))
          ? path
          : (query == std::string::npos ? url.size() : query);
  return absl::StrCat(url.substr(0, host_end), "/", database, rest);
}

std::string UrlWithUser(const std::string& url, const std::string& user) {
  const bool uri = absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://");
  if (!uri) return absl::StrCat(url, url.empty() ? "" : " ", "user=", user);
  const size_t authority = url.find("://") + 3;
  const size_t path = url.find_first_of("/?", authority);
  const size_t at = url.substr(0, path).rfind('@');
  const size_t host = at != std::string::npos && at >= authority ? at + 1 : authority;
  return absl::StrCat(url.substr(0, authority), user, "@", url.substr(host));
}

RoleUrls ApplyRoles(const std::string& superuser_url) {
  // The file the admin step runs, read as it is (plain SQL, idempotent).
  const std::string path = CAMPAIGNQ_ROLES_SQL;
  const std::string roles_sql = ReadTextFile(path);
  if (roles_sql.empty()) Die(absl::StrCat("cannot read sql/roles.sql at '", path, "'"));
  try {
    // Closing the connection releases the lock.
    pqxx::connection lock_holder(UrlWithDatabase(superuser_url, "postgres"));
    pqxx::nontransaction(lock_holder).exec("SELECT pg_advisory_lock(7164506171753181234)");
    // On a replicated cluster a standby may not have replayed the test's
    // CREATE DATABASE yet, and libpq does not try the next host after a
    // FATAL at startup: poll until the database answers.
    std::unique_ptr<pqxx::connection> connection;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (connection == nullptr) {
      try {
        connection = std::make_unique<pqxx::connection>(superuser_url);
      } catch (const pqxx::broken_connection&) {
        if (std::chrono::steady_clock::now() > give_up) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    pqxx::nontransaction(*connection).exec(roles_sql);
  } catch (const std::exception& error) {
    Die(absl::StrCat("applying sql/roles.sql failed: ", error.what()));
  }
  return {UrlWithUser(superuser_url, "campaignq_migrate"),
          UrlWithUser(superuser_url, "campaignq_server"),
          UrlWithUser(superuser_url, "campaignq_worker")};
}

std::string FreshDatabaseUrl(const std::string& name_hint) {
  static std::atomic<int> counter{0};
  std::string hint;
  for (char c : name_hint) {
    hint.push_back(std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_');
    if (hint.size() == 30) break;
  }
  const std::string name =
      absl::StrCat("cq_", hint, "_", ::getpid(), "_", counter.fetch_add(1) + 1);
  const std::string server = TestServerUrl();
  try {
    pqxx::connection admin(server);
    pqxx::nontransaction txn(admin);
    txn.exec(absl::StrCat("CREATE DATABASE ", QuoteIdentifier(name)));
  } catch (const std::exception& error) {
    Die(absl::StrCat("cannot create test database ", name, " on ", server, ": ", error.what()));
  }
  {
    std::lock_guard<std::mutex> lock(g_databases_mutex);
    g_databases->push_back(name);
  }
  // Registered after the first connection: atexit handlers run in reverse
  // order with the destructors of statics, so the drop runs before
  // libpqxx's own statics (its encoding table) and the cluster's stop.
  static std::once_flag register_drop;
  std::call_once(register_drop, [] { std::atexit(DropDatabasesAtExit); });
  return UrlWithDatabase(server, name);
}

OwnPostgres::OwnPostgres() : cluster_(CreateCluster()) {}

OwnPostgres::~OwnPostgres() {
  DisposeCluster(cluster_);
  delete cluster_;
}

const std::string& OwnPostgres::url() const { return cluster_->url; }

void OwnPostgres::StopImmediately() {
  if (Run(AsPostgres({PgBin("pg_ctl"), "stop", "-D", cluster_->data_dir, "-m", "immediate", "-w"}),
          cluster_->log) != 0) {
    Die(absl::StrCat("pg_ctl stop -m immediate failed; log ", cluster_->log));
  }
}

void OwnPostgres::Start() {
  if (!StartPostgres(*cluster_)) {
    Die(absl::StrCat("pg_ctl start failed; log ", cluster_->log, ":\n",
                     verify::TailOfFile(cluster_->log)));
  }
}

}  // namespace campaignq::testing
