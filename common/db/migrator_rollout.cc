// Whether each migration may apply while processes of the previous release
// run (common/db/migrator.h, Rollout). One entry per sql/migrations file;
// EmbeddedMigrations aborts on a missing or extra one.
//
// A new migration is kStopFirst unless a mixed-version test (workers of the
// previous release deciding during a storm against the new schema,
// invariants held) shows it rolling (docs/architecture.md, "The tables").
// 0001-0007 predate that rule: they were declared by reading them, and the
// rolling ones (1, 3, 5, 7) change nothing that an earlier process reads or
// writes.

#include "common/db/migrator.h"

namespace campaignq::db {

const std::vector<RolloutDeclaration>& RolloutDeclarations() {
  static const auto* declarations = new std::vector<RolloutDeclaration>{
      {1, Rollout::kRolling, "it creates the schema, so no earlier process has one to run against"},
      {2, Rollout::kStopFirst,
       "processes of earlier builds know nothing of paused, opens_at and closes_at: their "
       "workers decide a campaign that a new server paused and their servers accept Applies "
       "outside its schedule"},
      {3, Rollout::kRolling,
       "it adds a table that only newer workers write and the console reads; earlier workers "
       "are just missing from the Workers page"},
      {4, Rollout::kStopFirst,
       "earlier workers and servers do not maintain the decision counters it adds: each "
       "decision, cancel or close they make leaves a campaign's counters wrong for good"},
      {5, Rollout::kRolling,
       "it redeclares two functions STABLE with the same bodies: every earlier statement gets "
       "the same results"},
      {6, Rollout::kStopFirst,
       "an earlier server's close of a paused campaign fails its new CHECK, and earlier workers "
       "approve into a campaign whose closes_at has passed before it is marked closed"},
      {7, Rollout::kRolling,
       "it adds an index that earlier statements do not need (Applies and decisions wait while "
       "it builds: CHANGELOG.md)"},
      {8, Rollout::kStopFirst,
       "earlier workers know nothing of hold_duration: they approve finally the seats of a "
       "campaign that must hold them, and earlier servers' cancels and closes leave held_count "
       "and the holds' counters wrong"},
      {9, Rollout::kStopFirst,
       "earlier workers decide a campaign's line in id order and before opens_at, and earlier "
       "servers refuse pre-queue Applies and never set prequeue_key: a mixed fleet breaks the "
       "queue order of every campaign with a pre-queue"},
  };
  return *declarations;
}

}  // namespace campaignq::db
