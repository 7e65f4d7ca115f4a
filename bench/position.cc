// campaignq-bench position: GetApplication with its place in line (issue 21
// part 2: p99 <= 5 ms with 1,000,000 pending in one campaign). Seeds one
// open uncapped campaign's pending line straight into the table (and a
// second campaign interleaved one in ten, so that keys are not dense), then
// times GetApplication through campaignq-server for applications near the
// head (exact), in the middle and at the tail (estimated: 10,001 index
// entries and one head probe each). Prints one RESULT line; bench/position
// runs it on a fresh cluster.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "campaignq/v1/campaignq.grpc.pb.h"
#include "driver.h"

namespace bench {

namespace v1 = campaignq::v1;
using namespace std::chrono_literals;

int Position(const Flags& f) {
  Result res(Get(f, "label", "position"), GetInt(f, "run", 1));
  const long pending = GetInt(f, "pending", 1000000), repeat = GetInt(f, "repeat", 500);
  pqxx::connection c(Get(f, "db"));
  Exec(c, "TRUNCATE applications, campaigns RESTART IDENTITY");
  auto seed_start = Clock::now();
  {
    pqxx::work w(c);
    w.exec("INSERT INTO campaigns (name) VALUES ('position-line'), ('position-other')");
    // Every tenth row the other campaign's.
    w.exec_params(
        "INSERT INTO applications (campaign_id, user_id) "
        "SELECT CASE WHEN g % 10 = 0 THEN 2 ELSE 1 END, 'u' || g "
        "FROM generate_series(1, $1::bigint * 10 / 9) g ORDER BY g",
        pending);
    w.commit();
  }
  Exec(c, "VACUUM ANALYZE applications");
  res.Add("seed_seconds", Seconds(Clock::now() - seed_start));
  std::vector<long> ids;
  {
    pqxx::work w(c);
    const long line =
        w.exec("SELECT count(*) FROM applications WHERE campaign_id = 1")[0][0].as<long>();
    res.Add("pending", std::to_string(line));
    for (long offset : {10L, line / 2, line - 1}) {
      // exec_params1: a line shorter than the offset throws, never reads
      // past an empty result.
      ids.push_back(w.exec_params1("SELECT id FROM applications WHERE campaign_id = 1 "
                                   "ORDER BY id OFFSET $1 LIMIT 1",
                                   offset)[0]
                        .as<long>());
      res.Add(std::string(offset == 10         ? "head"
                          : offset == line - 1 ? "tail"
                                               : "middle") +
                  "_true_position",
              std::to_string(offset));
    }
  }

  Server server = StartServer(f, "position");
  auto stub = std::move(Stubs(server.address, 1)[0]);
  std::string error;
  const char* names[] = {"head", "middle", "tail"};
  for (size_t k = 0; k < ids.size(); ++k) {
    std::vector<double> ms;
    long position = -1;
    for (long i = 0; i <= repeat; ++i) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 30s);
      v1::GetApplicationRequest request;
      request.set_application_id(ids[k]);
      v1::Application application;
      auto t0 = Clock::now();
      grpc::Status st = stub->GetApplication(&ctx, request, &application);
      if (i > 0) ms.push_back(Seconds(Clock::now() - t0) * 1000);
      if (!st.ok() && error.empty()) error = std::string(names[k]) + ": " + st.error_message();
      if (st.ok() && !application.has_position() && error.empty()) {
        error = std::string(names[k]) + ": no position";
      }
      position = application.position();
    }
    res.Add(std::string(names[k]) + "_position", std::to_string(position));
    res.Add(std::string(names[k]) + "_p50_ms", Percentile(ms, 50));
    res.Add(std::string(names[k]) + "_p99_ms", Percentile(ms, 99));
  }
  Stop(*server.child, 20s);
  res.Add("value", 0.0);
  res.Add("unit", "ms");
  res.Print(error.empty(), error);
  return error.empty() ? 0 : 1;
}

}  // namespace bench
